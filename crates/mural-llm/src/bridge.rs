//! Running an async writer from sync code. The pipeline and the server
//! await writers ([`crate::Llm::complete_async`]) on their own runtime; a
//! sync caller (`mural prompt`) gets a current-thread runtime for the one
//! call here. A sync call made from inside a runtime (where `block_on`
//! would panic) waits on a scoped thread with its own runtime.

use std::future::Future;

fn runtime_error(e: std::io::Error) -> mural_prompt::WriteError {
    mural_prompt::WriteError::Backend {
        message: format!("cannot start the writer's runtime: {e}"),
        retryable: false,
    }
}

/// Runs `fut` to completion from sync code.
pub fn block_here<T: Send>(
    fut: impl Future<Output = Result<T, mural_prompt::WriteError>> + Send,
) -> Result<T, mural_prompt::WriteError> {
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(runtime_error)?
            .block_on(fut)
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|s| {
        s.spawn(run).join().unwrap_or_else(|_| {
            Err(mural_prompt::WriteError::Backend {
                message: "the writer's thread stopped unexpectedly".to_string(),
                retryable: false,
            })
        })
    })
}
