//! `mural serve`: binds the studio and API (`mural-serve`) to an address,
//! with the CLI's gallery and config, and shuts down gracefully.

use crate::cli::usage;
use crate::config;
use anyhow::Result;
use clap::Args;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT, HOST:PORT or HOST (localhost:7878,
    /// localhost). Anything but loopback needs MURAL_TOKEN.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    pub addr: String,
    /// Port to listen on; it wins over a port given in --addr (0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Where painted images are kept and served from. Default: images/ under MURAL_HOME.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The URL clients reach this server at, for image URLs in replies.
    /// Default: the bound address.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// The port `mural serve` listens on when neither --addr nor --port names one.
pub const DEFAULT_PORT: u16 = 7878;

/// `--addr` and `--port` to one address: an IP or a host name (resolved
/// with the system's resolver; the first address it gives), the port from
/// `--port`, else from `--addr`, else 7878.
pub fn listen_addr(addr: &str, port: Option<u16>) -> Result<SocketAddr> {
    let addr = addr.trim();
    let (host, addr_port) = if let Ok(a) = addr.parse::<SocketAddr>() {
        (a.ip().to_string(), Some(a.port()))
    } else if let Ok(ip) = addr.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        (ip.to_string(), None)
    } else {
        match addr.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let p = p.parse::<u16>().map_err(|_| {
                    usage(format!(
                        "--addr {addr:?} has port {p:?}, not a number from 0 to 65535; write it like localhost:7878"
                    ))
                })?;
                (h.to_string(), Some(p))
            }
            _ => (addr.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(usage(format!(
            "--addr {addr:?} names no host; write it like 127.0.0.1:7878 or localhost"
        )));
    }
    let port = port.or(addr_port).unwrap_or(DEFAULT_PORT);
    let host = host.trim_matches(['[', ']']);
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found = (host, port).to_socket_addrs().map_err(|e| {
        usage(format!(
            "--addr {addr:?} is not IP:PORT and host {host:?} does not resolve ({e}); write it like 127.0.0.1:7878 or localhost:7878"
        ))
    })?;
    let found: Vec<SocketAddr> = found.collect();
    // prefer IPv4 where a name has both (localhost: 127.0.0.1 and ::1)
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| {
            usage(format!(
                "--addr {addr:?}: host {host:?} has no address; use an IP like 127.0.0.1"
            ))
        })
}

/// `MURAL_TOKEN`, if set; a blank one guards nothing and is refused.
fn token_from_env() -> Result<Option<String>> {
    match std::env::var("MURAL_TOKEN") {
        Ok(t) if t.trim().is_empty() => Err(usage(
            "MURAL_TOKEN is set but blank, which would guard nothing; set it to a real secret (e.g. from `openssl rand -hex 16`) or unset it",
        )),
        Ok(t) => Ok(Some(t)),
        Err(_) => Ok(None),
    }
}

/// `--public-url`: an http(s) URL, or none.
fn public_url(url: Option<String>) -> Result<Option<String>> {
    match url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(u)),
        Some(u) => Err(usage(format!(
            "--public-url {u:?} is not an http(s) URL; write it like http://studio.lan:7878"
        ))),
        None => Ok(None),
    }
}

pub fn serve_cmd(args: ServeArgs) -> Result<ExitCode> {
    let addr = listen_addr(&args.addr, args.port)?;
    let token = token_from_env()?;
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(usage(format!(
            "refusing to listen on {addr} without MURAL_TOKEN: anyone on the network could use it; set MURAL_TOKEN, or listen on 127.0.0.1"
        )));
    }
    let public_url = public_url(args.public_url)?;
    let cfg = config::load()?;
    let home = crate::paint::mural_home()?;
    let gallery = home.join("gallery.db");
    // refuse a gallery from a newer mural before listening
    mural_gallery::Gallery::open(&gallery).map_err(|e| usage(e.to_string()))?;
    let files = args.out.unwrap_or_else(|| home.join("images"));
    // a server that cannot keep what it paints fails here, not per request
    crate::paint::writable_dir(&files)?;
    let default_painter = cfg.painter_spec().unwrap_or("sketch").to_string();
    let defaults = mural_serve::Defaults {
        writer: cfg.writer_spec().map(str::to_string),
        target: match &cfg.defaults.target {
            Some(t) => Some(crate::cli::parse_target(t)?),
            None => None,
        },
        style: config::resolve_style(&cfg, None),
        size: cfg.defaults.size.clone(),
        n: cfg.defaults.n,
    };
    if let Some(w) = &defaults.writer {
        // built once here (it sends nothing) so a bad default stops the
        // server before it listens, not each request
        let env = |k: &str| std::env::var(k).ok();
        mural_llm::build(w, &cfg.writers, &env, None)
            .map_err(|e| usage(format!("[defaults] writer {w:?}: {e}")))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| usage(format!("cannot listen on {addr}: {e}; pick another --addr")))?;
        let local = listener.local_addr()?;
        let state = mural_serve::AppState::with_writers(
            mural_serve::Config {
                gallery,
                files,
                token,
                profiles: cfg.painters,
                default_painter,
                env: std::sync::Arc::new(|k| std::env::var(k).ok()),
                addr: Some(local),
                public_url,
                limits: mural_serve::Limits::default(),
                defaults,
            },
            cfg.writers,
        );
        {
            use std::io::Write;
            // the server keeps serving even if nobody reads this line
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "mural serve: listening on http://{local}");
            let _ = out.flush();
        }
        let watched = state.clone();
        let signal = async move {
            shutdown_signal().await;
            // finish what is in flight; runs are already journaled in the gallery
            if watched.in_flight() > 0 {
                eprintln!(
                    "mural serve: finishing {} job(s) in flight",
                    watched.in_flight()
                );
            }
        };
        mural_serve::serve(listener, state, signal).await?;
        eprintln!("mural serve: stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    // painting past the shutdown deadline is abandoned (its run stays
    // journaled); nothing else may hold the process
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
