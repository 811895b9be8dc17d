//! Serving connections by hand (hyper's HTTP/1 builder) instead of
//! `axum::serve`, for what it cannot do: a header read timeout (slowloris;
//! also closes idle keep-alive connections) and a shutdown that cannot be
//! held open by a half-open connection.
//!
//! Shutdown: stop accepting, ask every connection to close after its
//! current response, wait for requests in handlers and painting in flight
//! (at most `shutdown_timeout`), give responses [`GRACE`] to be written,
//! and return, dropping whatever is still open (a half-open connection).

use crate::{app, AppState};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// After painting has drained, how long connections get to finish.
pub const GRACE: Duration = Duration::from_secs(5);

/// Serves `state` on `listener` until `shutdown` resolves, then shuts down
/// within the limits in `state`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = app(state.clone());
    let limits = state.limits().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // every connection task holds a sender; `recv` ends when all are gone
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    // out of descriptors and the like: wait, do not spin
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(router.clone());
        let mut stop = stop_rx.clone();
        let open = open_tx.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _open = open;
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let conn = b.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    state.stop();
    let _ = stop_tx.send(true);
    drop(open_tx);
    let closed = async { while open_rx.recv().await.is_some() {} };
    // requests being handled and painting finish; a connection that never
    // sent a whole request holds nothing up
    let _ = tokio::time::timeout(limits.shutdown_timeout, state.drained()).await;
    let _ = tokio::time::timeout(GRACE, closed).await;
    Ok(())
}
