//! `mural serve`: binds the studio and API (`mural-serve`) to an address,
//! with the CLI's gallery and config, and shuts down gracefully.

use crate::cli::usage;
use crate::config;
use anyhow::Result;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs MURAL_TOKEN.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub addr: String,
    /// Where painted images are kept and served from. Default: images/ under MURAL_HOME.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The URL clients reach this server at, for image URLs in replies.
    /// Default: the bound address.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

pub fn serve_cmd(args: ServeArgs) -> Result<ExitCode> {
    let addr: SocketAddr = args.addr.parse().map_err(|_| {
        usage(format!(
            "--addr {:?} is not IP:PORT; write it like 127.0.0.1:7878",
            args.addr
        ))
    })?;
    let token = match std::env::var("MURAL_TOKEN") {
        Ok(t) if t.trim().is_empty() => {
            return Err(usage(
                "MURAL_TOKEN is set but blank, which would guard nothing; set it to a real secret (e.g. from `openssl rand -hex 16`) or unset it",
            ))
        }
        Ok(t) => Some(t),
        Err(_) => None,
    };
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(usage(format!(
            "refusing to listen on {addr} without MURAL_TOKEN: anyone on the network could use it; set MURAL_TOKEN, or listen on 127.0.0.1"
        )));
    }
    let public_url = match args.public_url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(u),
        Some(u) => {
            return Err(usage(format!(
                "--public-url {u:?} is not an http(s) URL; write it like http://studio.lan:7878"
            )))
        }
        None => None,
    };
    let cfg = config::load()?;
    let home = crate::paint::mural_home()?;
    let gallery = home.join("gallery.db");
    // refuse a gallery from a newer mural before listening
    mural_gallery::Gallery::open(&gallery).map_err(|e| usage(e.to_string()))?;
    let files = args.out.unwrap_or_else(|| home.join("images"));
    // a server that cannot keep what it paints fails here, not per request
    crate::paint::writable_dir(&files)?;
    let default_painter = cfg.painter.clone().unwrap_or_else(|| "sketch".into());
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
            },
            cfg.writers,
        );
        println!("mural serve: listening on http://{local}");
        use std::io::Write;
        std::io::stdout().flush()?;
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
