//! A small runtime of the writer's own, so the sync `Writer` trait can make
//! async HTTP calls from anywhere: a plain thread, or inside another tokio
//! runtime (the pipeline calls writers from async code), where
//! `block_on` would panic.

use std::future::Future;

pub struct Bridge {
    rt: Option<tokio::runtime::Runtime>,
}

impl Bridge {
    pub fn new() -> std::io::Result<Bridge> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mural-llm-http")
            .enable_all()
            .build()?;
        Ok(Bridge { rt: Some(rt) })
    }

    /// Runs `fut` on the bridge's runtime and waits for it; `None` if the
    /// task died.
    pub fn run<F>(&self, fut: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = self.rt.as_ref()?;
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().ok()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // dropping a runtime inside another one would panic
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
