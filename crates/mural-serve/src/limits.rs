//! The server's bounds on time and work: admission (requests painting and
//! queued, past that 429) and the counters a graceful shutdown waits on.

use crate::{AppError, AppState, Inner, RETRY_AFTER_S};
use axum::extract::State;
use axum::middleware;
use axum::response::Response;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The server's bounds on time and work.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests painting at once.
    pub painting: usize,
    /// Requests waiting for a painting slot; past that, 429.
    pub queued: usize,
    /// How long a client has to send its request headers (also how long an
    /// idle keep-alive connection stays open).
    pub header_timeout: Duration,
    /// How long a client has to send a request body.
    pub body_timeout: Duration,
    /// After a shutdown signal, how long painting in flight may take.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            painting: cores.clamp(2, 4),
            queued: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(120),
        }
    }
}

/// Holds a place among the requests painting or waiting to (see
/// [`AppState::admit`]).
pub(crate) struct Admission(AppState);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.inner.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a painting in flight, or a request in a handler, until dropped,
/// wherever it is dropped (a client that goes away included).
pub(crate) struct Busy(AppState, fn(&Inner) -> &AtomicUsize);

impl Busy {
    pub(crate) fn new(s: &AppState, counter: fn(&Inner) -> &AtomicUsize) -> Busy {
        counter(&s.inner).fetch_add(1, Ordering::SeqCst);
        Busy(s.clone(), counter)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        (self.1)(&self.0.inner).fetch_sub(1, Ordering::SeqCst);
        self.0.inner.idle.notify_waiters();
    }
}

/// Counts requests inside handlers, so shutdown waits for them and not for
/// connections that never finished sending one.
pub(crate) async fn handling(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let _busy = Busy::new(&s, |i| &i.handling);
    next.run(req).await
}

impl AppState {
    /// A place among the requests painting or waiting to paint; a 429 with
    /// `retry-after` when painting and its queue are full.
    pub(crate) fn admit(&self) -> Result<Admission, AppError> {
        let l = &self.inner.limits;
        let max = l.painting.max(1) + l.queued;
        self.inner
            .admitted
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| AppError::busy(RETRY_AFTER_S))?;
        Ok(Admission(self.clone()))
    }

    /// Waits until no painting is in flight and no request is inside a
    /// handler (for graceful shutdown).
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0
                && self.inner.handling.load(Ordering::SeqCst) == 0
            {
                return;
            }
            notified.await;
        }
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }
}
