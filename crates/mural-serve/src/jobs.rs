//! Studio jobs: `POST /v1/jobs` starts writing and painting in the
//! background; `GET /v1/jobs/{id}/events` streams its progress as
//! server-sent events: `prompts`, one `image` per image (with `kept` of
//! `total`), then `done`, `cancelled` or `error`. Events are kept, so a
//! late listener gets the whole story. `POST /v1/runs/{id}/rerun` starts a
//! job that repaints a recorded run; `DELETE /v1/jobs/{id}` cancels one.

use crate::gallery::image_url;
use crate::run::{Cancel, Generation, Prepared};
use crate::{ApiJson, AppError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Job {
    events: Mutex<Vec<(String, Value)>>,
    /// When the job ended (`done` or `error`); `None` while it runs.
    finished: Mutex<Option<Instant>>,
    changed: tokio::sync::Notify,
    cancel: Cancel,
}

impl Default for Job {
    fn default() -> Job {
        Job {
            events: Mutex::new(Vec::new()),
            finished: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
            cancel: Cancel::default(),
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
    /// Appended to the written negative prompt, and recorded.
    negative: Option<String>,
    /// `false`: `idea` is a finished prompt, painted as written.
    rewrite: Option<bool>,
}

/// A job started: where to listen, and the seed it paints from.
#[derive(Serialize)]
pub(crate) struct JobCreated {
    id: String,
    seed: u64,
    /// Images it paints.
    n: usize,
    /// The run a re-run repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    rerun_of: Option<i64>,
}

/// An event's data: the prompts written (or replayed).
#[derive(Serialize)]
struct PromptsEvent {
    prompts: Vec<PromptEvent>,
}

#[derive(Serialize)]
struct PromptEvent {
    index: usize,
    prompt: String,
    negative_prompt: String,
    seed: u64,
    params: serde_json::Map<String, Value>,
}

/// An event's data: one image kept, and how many of how many are done.
#[derive(Serialize)]
struct ImageEvent {
    id: i64,
    url: String,
    index: usize,
    prompt: String,
    negative_prompt: String,
    seed: u64,
    run_id: i64,
    width: u32,
    height: u32,
    kept: usize,
    total: usize,
}

/// An event's data: the end (`done` or `cancelled`).
#[derive(Serialize)]
struct EndEvent {
    run_id: Option<i64>,
    kept: usize,
    total: usize,
}

/// An event's data: why the job failed, in OpenAI's error shape.
#[derive(Serialize)]
struct ErrorEvent {
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    code: Option<&'static str>,
}

fn event(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(crate) async fn create(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<JobRequest>,
) -> Result<(StatusCode, Json<JobCreated>), AppError> {
    let g = Generation {
        idea: r.idea,
        target: r.target,
        style: r.style,
        writer: r.writer,
        painter: r.painter,
        n: r.n.unwrap_or(1),
        seed: r.seed,
        size: r.size,
        rewrite: r.rewrite.unwrap_or(true),
        negative: r.negative,
    };
    let prepared = s.prepare(&g)?;
    start(&s, prepared)
}

/// `POST /v1/runs/{id}/rerun`: paints a recorded run's prompts again as
/// they were written (never rewritten), with its painter and size, as a
/// new run that says `rerun_of`; a job like `POST /v1/jobs`.
pub(crate) async fn rerun(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobCreated>), AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found(format!("no run {id:?} in the gallery")))?;
    let prepared = s.prepare_rerun(id).await?;
    start(&s, prepared)
}

/// Starts a prepared run in the background, as a job with an event story.
fn start(s: &AppState, prepared: Prepared) -> Result<(StatusCode, Json<JobCreated>), AppError> {
    let admission = s.admit()?;
    let seq = s
        .inner
        .jobs
        .next
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let id = format!("job-{}-{seq}", std::process::id());
    let job = Arc::new(Job::default());
    s.inner.jobs.insert(id.clone(), job.clone());
    let created = JobCreated {
        id,
        seed: prepared.spec.seed,
        n: prepared.spec.n,
        rerun_of: prepared.rerun_of,
    };
    let total = prepared.spec.n;
    let state = s.clone();
    let cancel = job.cancel.clone();
    tokio::spawn(async move {
        let (j1, j2) = (job.clone(), job.clone());
        let kept = std::sync::atomic::AtomicUsize::new(0);
        let r = state
            .run(
                prepared,
                admission,
                cancel,
                move |written| {
                    let prompts = written
                        .iter()
                        .map(|w| PromptEvent {
                            index: w.index,
                            prompt: w.prompt.clone(),
                            negative_prompt: w.negative_prompt.clone(),
                            seed: w.seed,
                            params: w.params.clone(),
                        })
                        .collect();
                    j1.push("prompts", event(PromptsEvent { prompts }));
                },
                move |k| {
                    let n = kept.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    j2.push(
                        "image",
                        event(ImageEvent {
                            id: k.id,
                            url: image_url(k.id),
                            index: k.index,
                            prompt: k.prompt.clone(),
                            negative_prompt: k.negative_prompt.clone(),
                            seed: k.seed,
                            run_id: k.run_id,
                            width: k.width,
                            height: k.height,
                            kept: n,
                            total,
                        }),
                    );
                },
            )
            .await;
        match r {
            Ok(o) => job.finish(
                if o.cancelled { "cancelled" } else { "done" },
                event(EndEvent {
                    run_id: o.run_id,
                    kept: o.kept.len(),
                    total,
                }),
            ),
            Err(e) => job.finish(
                "error",
                event(ErrorEvent {
                    error: ErrorBody {
                        message: e.message,
                        kind: e.kind,
                        code: e.code,
                    },
                }),
            ),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// Where a job stands.
#[derive(Serialize)]
pub(crate) struct JobStatus {
    id: String,
    /// `running`, `cancelling`, `done`, `cancelled` or `error`.
    status: &'static str,
}

fn job_status(id: String, job: &Job) -> JobStatus {
    let last = job
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .last()
        .map(|(k, _)| k.clone());
    let status = match last.as_deref() {
        Some("done") => "done",
        Some("cancelled") => "cancelled",
        Some("error") => "error",
        _ if job.cancel.is_cancelled() => "cancelling",
        _ => "running",
    };
    JobStatus { id, status }
}

fn find(s: &AppState, id: &str) -> Result<Arc<Job>, AppError> {
    s.inner
        .jobs
        .get(id)
        .ok_or_else(|| AppError::not_found(format!("no job {id:?}")))
}

/// `GET /v1/jobs/{id}`.
pub(crate) async fn status(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, AppError> {
    let job = find(&s, &id)?;
    Ok(Json(job_status(id, &job)))
}

/// `DELETE /v1/jobs/{id}` (or `POST /v1/jobs/{id}/cancel`): no image is
/// started after this; the images kept stay, the run is finished as
/// failed with the reason "cancelled", and the event stream ends with
/// `cancelled`. A job that has ended is left as it is.
pub(crate) async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, AppError> {
    let job = find(&s, &id)?;
    if job.finished_at().is_none() {
        job.cancel.cancel();
    }
    Ok(Json(job_status(id, &job)))
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
                    let last = kind == "done" || kind == "error" || kind == "cancelled";
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
    use serde_json::json;

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
            defaults: Default::default(),
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
