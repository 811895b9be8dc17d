//! `--writer` and `--stream`: which writer writes, and streaming its text.

use crate::cli::usage;
use crate::config::Config;
use anyhow::Result;
use clap::Args;
use mural_prompt::{WriteError, WriteRequest, Writer, Written};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// `--writer` and `--stream`, shared by the commands that write.
#[derive(Args, Clone, Default)]
pub struct WriterFlag {
    /// Writer: builtin (offline, the default), openai[:MODEL] (any
    /// OpenAI-compatible endpoint: OPENAI_BASE_URL, OPENAI_API_KEY),
    /// gguf:PATH (a local model, in process), or a [writers.NAME] profile.
    #[arg(long, value_name = "WRITER")]
    pub writer: Option<String>,
    /// Show an LLM writer's text on stderr as it arrives (on a terminal).
    #[arg(long)]
    pub stream: bool,
}

impl WriterFlag {
    /// The writer spec in force: the flag, else mural.toml's `[defaults]
    /// writer` or `writer`.
    pub fn spec(&self, cfg: &Config) -> String {
        self.writer
            .clone()
            .or_else(|| cfg.writer_spec().map(str::to_string))
            .unwrap_or_else(|| "builtin".to_string())
    }
}

/// A setup problem is bad input (exit 2); anything else stays as it is.
pub fn setup_error(e: WriteError) -> anyhow::Error {
    match e {
        WriteError::Config { message } => usage(message),
        e => e.into(),
    }
}

/// Prints streamed text to stderr, one line per completion.
fn stderr_sink() -> mural_llm::Sink {
    let current: Mutex<Option<usize>> = Mutex::new(None);
    Arc::new(move |i: usize, piece: &str| {
        let mut cur = current.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        if *cur != Some(i) {
            if cur.is_some() {
                let _ = writeln!(err);
            }
            let _ = write!(err, "\x1b[2m[#{}]\x1b[0m ", i + 1);
            *cur = Some(i);
        }
        // a model's text is foreign: its control characters are shown
        let piece = piece.replace('\n', " ");
        let _ = write!(err, "{}", crate::input::printable(&piece, false));
        let _ = err.flush();
    })
}

/// Builds the writer `flag` names.
pub fn build(flag: &WriterFlag, cfg: &Config) -> Result<Box<dyn Writer>> {
    let spec = flag.spec(cfg);
    let sink = (flag.stream && std::io::stderr().is_terminal()).then(stderr_sink);
    let streams = sink.is_some();
    let env = |k: &str| std::env::var(k).ok();
    // the catalog's word on the model: a deprecated one warns once, a
    // shut-down one stops here, before any request
    if let Some(warning) = mural_llm::lifecycle(&spec, &cfg.writers, &env).map_err(setup_error)? {
        eprintln!("{warning}");
    }
    let w = mural_llm::build(&spec, &cfg.writers, &env, sink).map_err(setup_error)?;
    Ok(if streams && w.name() != "builtin" {
        Box::new(EndsStreamedLine(w))
    } else {
        w
    })
}

/// Ends the streamed text's line once a request is written, so what the
/// command prints next starts on a line of its own.
struct EndsStreamedLine(Box<dyn Writer>);

impl Writer for EndsStreamedLine {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        let r = self.0.write(req);
        eprintln!();
        r
    }
}

/// Writes, mapping setup problems to exit code 2.
pub fn write(w: &dyn Writer, req: &WriteRequest) -> Result<Vec<Written>> {
    w.write(req).map_err(setup_error)
}
