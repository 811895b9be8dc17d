//! Studio jobs: `POST /v1/jobs` starts writing and painting in the
//! background; `GET /v1/jobs/{id}/events` streams its progress as
//! server-sent events: `prompts`, one `image` per image, then `done` or
//! `error`. Events are kept, so a late listener gets the whole story.

use crate::{ApiJson, AppError, AppState, Generation};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Job {
    events: Mutex<Vec<(String, Value)>>,
    /// When the job ended (`done` or `error`); `None` while it runs.
    finished: Mutex<Option<Instant>>,
    changed: tokio::sync::Notify,
}

impl Default for Job {
    fn default() -> Job {
        Job {
            events: Mutex::new(Vec::new()),
            finished: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        }
    }
}

impl Job {
    fn push(&self, kind: &str, data: Value) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((kind.to_string(), data));
        self.changed.notify_waiters();
    }

    fn finish(&self, kind: &str, data: Value) {
        self.push(kind, data);
        *self.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.changed.notify_waiters();
    }

    fn finished_at(&self) -> Option<Instant> {
        *self.finished.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Finished jobs' stories are kept this long, so a late listener still
/// hears the whole story ...
pub(crate) const JOB_TTL: Duration = Duration::from_secs(3600);
/// ... and at most this many of them (the most recent).
pub(crate) const MAX_JOBS: usize = 500;

/// The jobs, oldest first. Running jobs are always kept (admission bounds
/// them); finished ones until [`JOB_TTL`] or past the newest [`MAX_JOBS`].
#[derive(Default)]
pub(crate) struct Jobs {
    list: Mutex<VecDeque<(String, Arc<Job>)>>,
    next: std::sync::atomic::AtomicU64,
}

impl Jobs {
    fn insert(&self, id: String, job: Arc<Job>) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.push_back((id, job));
        Self::prune(&mut list, Instant::now());
    }

    fn prune(list: &mut VecDeque<(String, Arc<Job>)>, now: Instant) {
        let finished = list
            .iter()
            .filter(|(_, j)| j.finished_at().is_some())
            .count();
        let mut over = finished.saturating_sub(MAX_JOBS);
        list.retain(|(_, j)| match j.finished_at() {
            None => true,
            Some(t) if now.saturating_duration_since(t) > JOB_TTL => false,
            Some(_) if over > 0 => {
                // the oldest finished ones go first
                over -= 1;
                false
            }
            Some(_) => true,
        });
    }

    fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, j)| j.clone())
    }

    pub(crate) fn len(&self) -> usize {
        self.list.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobRequest {
    idea: String,
    target: Option<String>,
    style: Option<String>,
    writer: Option<String>,
    painter: Option<String>,
    n: Option<usize>,
    seed: Option<u64>,
    size: Option<String>,
}

pub(crate) async fn create(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<JobRequest>,
) -> Result<(axum::http::StatusCode, Json<Value>), AppError> {
    let g = Generation {
        idea: r.idea,
        target: r.target,
        style: r.style,
        writer: r.writer,
        painter: r.painter,
        n: r.n.unwrap_or(1),
        seed: r.seed,
        size: r.size,
        rewrite: true,
    };
    let prepared = s.prepare(&g)?;
    let admission = s.admit()?;
    let seq = s
        .inner
        .jobs
        .next
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let id = format!("job-{}-{seq}", std::process::id());
    let job = Arc::new(Job::default());
    s.inner.jobs.insert(id.clone(), job.clone());
    let seed = prepared.spec.seed;
    let state = s.clone();
    tokio::spawn(async move {
        let (j1, j2) = (job.clone(), job.clone());
        let r = state
            .run(
                prepared,
                admission,
                move |written| {
                    let prompts: Vec<Value> = written
                        .iter()
                        .map(|w| json!({"index": w.index, "prompt": w.prompt, "negative_prompt": w.negative_prompt, "seed": w.seed, "params": w.params}))
                        .collect();
                    j1.push("prompts", json!({ "prompts": prompts }));
                },
                move |k| {
                    let name = std::path::Path::new(&k.file)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    j2.push(
                        "image",
                        json!({"url": format!("/files/{name}"), "index": k.index, "prompt": k.prompt, "seed": k.seed, "run_id": k.run_id, "width": k.width, "height": k.height}),
                    );
                },
            )
            .await;
        match r {
            Ok((run_id, _)) => job.finish("done", json!({ "run_id": run_id })),
            Err(e) => job.finish(
                "error",
                json!({"error": {"message": e.message, "type": e.kind, "code": e.code}}),
            ),
        }
    });
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(json!({ "id": id, "seed": seed })),
    ))
}

pub(crate) async fn events(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, AppError> {
    let job = s
        .inner
        .jobs
        .get(&id)
        .ok_or_else(|| AppError::not_found(format!("no job {id:?}")))?;
    let stream =
        futures_util::stream::unfold((job, 0usize, false), |(job, cursor, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let next = {
                    let notified = job.changed.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    let next = job
                        .events
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(cursor)
                        .cloned();
                    if next.is_none() {
                        notified.await;
                    }
                    next
                };
                if let Some((kind, data)) = next {
                    // only `finish` pushes these, and nothing comes after
                    // them: checking the `finished` flag here raced with
                    // `finish` and could leave the stream waiting forever
                    let last = kind == "done" || kind == "error";
                    let ev = Event::default().event(kind).data(data.to_string());
                    return Some((Ok(ev), (job, cursor + 1, last)));
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// Regression: `finish` pushes `done` and then sets the flag; a listener
    /// that read `done` in between waited forever (a hung SSE stream).
    #[tokio::test]
    async fn events_end_at_done_even_before_the_finished_flag_is_set() {
        let dir = std::env::temp_dir().join(format!("mural-serve-jobs-{}", std::process::id()));
        let s = AppState::new(crate::Config {
            gallery: dir.join("gallery.db"),
            files: dir.join("images"),
            token: None,
            profiles: Default::default(),
            default_painter: "sketch".into(),
            env: Arc::new(|_| None),
            addr: None,
            public_url: None,
            limits: Default::default(),
        });
        let job = Arc::new(Job::default());
        job.push("prompts", json!({"prompts": []}));
        job.push("done", json!({"run_id": 1}));
        s.inner.jobs.insert("j1".into(), job);
        let sse = events(State(s), Path("j1".into())).await.unwrap();
        let body = sse.into_response().into_body();
        let bytes = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            axum::body::to_bytes(body, 1 << 20),
        )
        .await
        .expect("the stream ends after done")
        .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains("event: done"), "{text}");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn finished_job() -> Arc<Job> {
        let j = Arc::new(Job::default());
        j.finish("done", json!({"run_id": 1}));
        j
    }

    /// Regression: past 500 jobs every finished story was purged at once,
    /// the most recent included; and nothing bounded them in time.
    #[test]
    fn job_history_keeps_the_most_recent_jobs_for_a_while() {
        let jobs = Jobs::default();
        let running = Arc::new(Job::default());
        jobs.insert("running".into(), running);
        for i in 0..MAX_JOBS + 100 {
            jobs.insert(format!("job-{i}"), finished_job());
        }
        assert_eq!(
            jobs.len(),
            MAX_JOBS + 1,
            "the newest 500 and the running one"
        );
        assert!(jobs.get("job-0").is_none(), "the oldest go first");
        assert!(jobs.get(&format!("job-{}", MAX_JOBS + 99)).is_some());
        assert!(jobs.get("job-100").is_some());
        assert!(
            jobs.get("running").is_some(),
            "a running job is never dropped"
        );
        // an hour after they finished, only the running job's story is left
        let later = Instant::now() + JOB_TTL + Duration::from_secs(1);
        let mut list = jobs.list.lock().unwrap();
        Jobs::prune(&mut list, later);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].0, "running");
    }
}
