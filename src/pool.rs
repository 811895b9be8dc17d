//! Pools from `mural.toml` (`[pools.NAME]`, `[writer_pools.NAME]`) and
//! `mural pool status NAME`.
//!
//! A pool is resolved at load into a profile of its own name, so
//! `--painter farm` and `--writer duo` work wherever a painter or writer is
//! named (imagine, batch, rerun, the server) with no other change.

use crate::cli::usage;
use crate::config::Config;
use anyhow::Result;
use clap::Subcommand;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PoolCommand {
    /// Probe each member of a [pools.NAME] or [writer_pools.NAME]: health, models, latency.
    Status {
        /// The pool's name in mural.toml.
        name: String,
        /// One JSON object per member.
        #[arg(long)]
        json: bool,
    },
}

/// Resolves `cfg.pools` into `cfg.painters` and `cfg.writer_pools` into
/// `cfg.writers`; a name both ways, or a member that is not a profile, is
/// bad input naming the fix.
pub fn install(cfg: &mut Config, path: &Path) -> Result<()> {
    let bad = |m: String| usage(format!("{}: {m}", path.display()));
    let mut painters = Vec::new();
    for (name, pool) in &cfg.pools {
        if cfg.painters.contains_key(name) || name.parse::<mural_paint::PainterKind>().is_ok() {
            return Err(bad(format!(
                "pool {name:?} has the name of a painter profile or kind; rename one"
            )));
        }
        let spec = pool.resolve(name, &cfg.painters).map_err(&bad)?;
        painters.push((name.clone(), spec.profile(pool.model.clone())));
    }
    cfg.painters.extend(painters);
    let mut writers = Vec::new();
    for (name, pool) in &cfg.writer_pools {
        if cfg.writers.contains_key(name)
            || ["builtin", "verbatim", "openai"].contains(&name.as_str())
        {
            return Err(bad(format!(
                "writer pool {name:?} has the name of a writer profile or kind; rename one"
            )));
        }
        writers.push((
            name.clone(),
            pool.resolve(name, &cfg.writers).map_err(&bad)?,
        ));
    }
    cfg.writers.extend(writers);
    Ok(())
}

pub fn pool_cmd(cmd: PoolCommand) -> Result<ExitCode> {
    let PoolCommand::Status { name, json } = cmd;
    let cfg = crate::config::load()?;
    if let Some((members, _)) = cfg.writers.get(&name).and_then(|p| p.pool.as_ref()) {
        return writer_pool_status(members, json);
    }
    let Some(profile) = cfg.painters.get(&name).filter(|p| p.pool.is_some()) else {
        let pools: Vec<&str> = cfg
            .pools
            .keys()
            .chain(cfg.writer_pools.keys())
            .map(String::as_str)
            .collect();
        return Err(usage(if pools.is_empty() {
            format!("unknown pool {name:?}; add a [pools.NAME] or [writer_pools.NAME] table with members to mural.toml")
        } else {
            format!(
                "unknown pool {name:?}; mural.toml has: {}",
                pools.join(", ")
            )
        }));
    };
    let spec = profile.pool.as_deref().expect("filtered on a pool");
    let env = |k: &str| std::env::var(k).ok();
    let pool = mural_paint::Pool::new(spec, profile.model.clone(), &env)
        .map_err(|e| usage(e.to_string()))?;
    let reports = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(pool.probe_all());
    print(&reports, json, |r| {
        let detail = match (&r.error, &r.models) {
            (Some(e), _) => show(e),
            (None, Some(m)) => format!("models: {}", listing(m)),
            (None, None) => "models: -".to_string(),
        };
        Line {
            name: &r.name,
            kind: &r.kind,
            healthy: r.healthy,
            latency_ms: r.latency_ms,
            url: &r.url,
            detail,
        }
    })
}

/// One member's line of `mural pool status`.
struct Line<'a> {
    name: &'a str,
    kind: &'a str,
    healthy: bool,
    latency_ms: u64,
    url: &'a str,
    detail: String,
}

/// Prints each member's probe, a line or a JSON object each; exit 1 when
/// one is down.
fn print<R: serde::Serialize>(
    reports: &[R],
    json: bool,
    line: impl Fn(&R) -> Line<'_>,
) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut all_up = true;
    for r in reports {
        let l = line(r);
        all_up &= l.healthy;
        if json {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        } else {
            row(&mut out, &l)?;
        }
    }
    Ok(exit(all_up))
}

/// Writes one member's line.
fn row(out: &mut impl Write, l: &Line) -> std::io::Result<()> {
    let health = if l.healthy { "up" } else { "down" };
    writeln!(
        out,
        "{:<12} {:<8} {:<5} {:>6} ms  {}  {}",
        show(l.name),
        l.kind,
        health,
        l.latency_ms,
        show(l.url),
        l.detail
    )
}

/// Ran, but found a member down: exit 1.
fn exit(all_up: bool) -> ExitCode {
    if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn show(s: &str) -> String {
    crate::input::printable(s, false).into_owned()
}

/// A model list, the first four and a count of the rest.
fn listing(m: &[String]) -> String {
    let shown: Vec<String> = m.iter().take(4).map(|s| show(s)).collect();
    match m.len() {
        n if n > 4 => format!("{} (+{} more)", shown.join(", "), n - 4),
        _ => shown.join(", "),
    }
}

/// `mural pool status` for a writer pool: `GET /models` of each member.
fn writer_pool_status(
    members: &[(String, mural_llm::WriterProfile)],
    json: bool,
) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let reports = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(mural_llm::pool::probe(members, &env));
    print(&reports, json, |r| {
        let detail = match (&r.error, &r.models, r.has_model) {
            (Some(e), _, _) => show(e),
            (None, Some(m), Some(false)) => {
                format!("does not list {}; models: {}", show(&r.model), listing(m))
            }
            (None, Some(m), _) => format!("{} listed; models: {}", show(&r.model), listing(m)),
            (None, None, _) => "-".to_string(),
        };
        Line {
            name: &r.name,
            kind: r.kind,
            healthy: r.healthy,
            latency_ms: r.latency_ms,
            url: &r.url,
            detail,
        }
    })
}

/// The progress line's pool summary (empty for a single painter).
pub fn progress_summary(painter: &dyn mural_paint::Painter) -> String {
    mural_paint::pool::summary(&painter.pool_stats())
}
