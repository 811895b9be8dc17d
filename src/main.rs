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
