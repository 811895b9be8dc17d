//! `mural models`: the model catalog, each model's lifecycle today, and
//! with `--refresh` what the provider itself reports.

use crate::cli::usage;
use crate::config;
use anyhow::Result;
use clap::Args;
use mural_catalog::{Catalog, Kind, Model, Provider, Status};
use std::process::ExitCode;

#[derive(Args)]
pub struct ModelsArgs {
    /// Only the image models of this painter (a kind or a profile from mural.toml).
    #[arg(long, conflicts_with = "writer")]
    painter: Option<String>,
    /// Only the chat models of this writer (openai, or a profile from mural.toml).
    #[arg(long)]
    writer: Option<String>,
    /// Also ask the provider which models it serves and when they shut down
    /// (OpenAI's GET /models, with shutdown dates; Google's models list).
    #[arg(long)]
    refresh: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// The models `--painter`/`--writer` select: (provider, kind), or all.
fn selection(args: &ModelsArgs, cfg: &config::Config) -> Result<Option<(Provider, Kind)>> {
    if let Some(p) = &args.painter {
        let (_, profile) = config::painter_profile(cfg, Some(p), None)?;
        return match Provider::of_kind(profile.kind.as_str()) {
            Some(provider) => Ok(Some((provider, Kind::Image))),
            None => Err(usage(format!(
                "painter {p:?} ({}) is a local engine: its models are what it has loaded, not a hosted catalog; use a hosted painter (openai, gemini, bfl, replicate, stability, runway)",
                profile.kind
            ))),
        };
    }
    if let Some(w) = &args.writer {
        let kind = cfg
            .writers
            .get(w.as_str())
            .map(|p| p.kind.to_string())
            .unwrap_or_else(|| w.split(':').next().unwrap_or("").to_string());
        return match kind.as_str() {
            "openai" => Ok(Some((Provider::Openai, Kind::Chat))),
            other => Err(usage(format!(
                "writer {w:?} ({other}) has no hosted catalog; use --writer openai"
            ))),
        };
    }
    Ok(None)
}

/// A model's state on `today`, in words.
fn state(m: &Model, today: mural_catalog::Date) -> String {
    let then = |r: &Option<String>| {
        r.as_deref()
            .map(|r| format!(", use {r}"))
            .unwrap_or_default()
    };
    match m.status_on(today) {
        Status::Active => "active".into(),
        Status::Deprecated => match m.shutdown {
            Some(d) => format!("deprecated, shuts down {d}{}", then(&m.replacement)),
            None => format!("deprecated{}", then(&m.replacement)),
        },
        Status::Shutdown => format!(
            "shut down {}{}",
            m.shutdown.map(|d| d.to_string()).unwrap_or_default(),
            then(&m.replacement)
        ),
    }
}

pub fn models_cmd(args: ModelsArgs) -> Result<ExitCode> {
    let cfg = config::load()?;
    let env = |k: &str| std::env::var(k).ok();
    let today = mural_catalog::today(&env).map_err(usage)?;
    let sel = selection(&args, &cfg)?;
    let c = Catalog::current();
    let shown: Vec<&Model> = c
        .models()
        .iter()
        .filter(|m| sel.is_none_or(|(p, k)| m.provider == p && m.kind == k))
        .collect();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if !args.json {
        writeln!(
            out,
            "# model catalog, checked {} (today {today})",
            c.checked
        )?;
    }
    for m in &shown {
        if args.json {
            let mut v = serde_json::to_value(m)?;
            v["state"] = serde_json::json!(m.status_on(today).as_str());
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{:<10} {:<6} {:<36} {}{}",
                m.provider.as_str(),
                m.kind.as_str(),
                m.id,
                state(m, today),
                if m.default { " (default)" } else { "" }
            )?;
        }
    }
    if args.refresh {
        refresh(&args, &cfg, sel, &mut out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What the provider reports, set beside the catalog.
fn refresh(
    args: &ModelsArgs,
    cfg: &config::Config,
    sel: Option<(Provider, Kind)>,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let provider = sel.map(|s| s.0).unwrap_or(Provider::Openai);
    let env = |k: &str| std::env::var(k).ok();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (who, listed) = match provider {
        Provider::Openai => {
            let spec = args.painter.as_deref().unwrap_or("openai");
            let (_, profile) = config::painter_profile(cfg, Some(spec), None)?;
            let painter = mural_paint::remote::openai::OpenAiPainter::new(&profile, &env)
                .map_err(|e| usage(e.to_string()))?;
            ("OpenAI", rt.block_on(painter.listed_models()))
        }
        Provider::Google => {
            let spec = args.painter.as_deref().unwrap_or("gemini");
            let (_, profile) = config::painter_profile(cfg, Some(spec), None)?;
            let painter = mural_paint::remote::gemini::GeminiPainter::new(&profile, &env)
                .map_err(|e| usage(e.to_string()))?;
            ("Google", rt.block_on(painter.listed_models()))
        }
        other => {
            return Err(usage(format!(
                "--refresh asks OpenAI's or Google's model list; {other} publishes none mural reads, so its catalog above is what mural knows"
            )))
        }
    };
    let listed = listed.map_err(|e| usage(format!("cannot list {who}'s models: {e}")))?;
    let c = Catalog::current();
    if !args.json {
        writeln!(out, "# what {who} reports now")?;
    }
    for l in listed {
        let known = c.find(provider, &l.id).map(|m| m.status.as_str());
        if args.json {
            let v = serde_json::json!({
                "provider": provider.as_str(),
                "id": l.id,
                "shutdown_date": l.shutdown_date,
                "reported": true,
                "catalog": known,
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{:<10} {:<43} {}{}",
                provider.as_str(),
                l.id,
                l.shutdown_date
                    .map(|d| format!("shuts down {d}"))
                    .unwrap_or_else(|| "no shutdown announced".into()),
                if known.is_none() {
                    " (not in mural's catalog)"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}
