//! The `mural` command line: a thin shell over the library crates.
//!
//! `main` parses arguments, runs a command, and maps errors to exit codes:
//! 0 success, 1 "ran, but found problems" (lint), 2 bad input (with a
//! one-line message on stderr that names the fix).

mod cli;
mod config;
mod input;
mod models;
mod paint;
mod pool;
mod serve;
mod template;
mod writer;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        // `mural ... | head`: the reader has what it wanted; stop quietly
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = if e.downcast_ref::<cli::UsageError>().is_some()
                || e.downcast_ref::<mural_prompt::WriteError>()
                    .is_some_and(|w| !matches!(w, mural_prompt::WriteError::Backend { .. }))
            {
                2
            } else {
                1
            };
            // an error may quote a server's reply or a stored idea
            eprintln!("mural: {}", input::printable(&format!("{e:#}"), true));
            ExitCode::from(code)
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}
