//! Writer pools: one [`Llm`] over several OpenAI-compatible endpoints
//! (`[writer_pools.NAME] members = ["llm1", "llm2"]`, each a
//! `[writers.NAME]` profile of kind `openai`), such as several vLLM or
//! llama.cpp servers.
//!
//! Each completion goes to the healthy member with the fewest requests
//! in flight. A member that fails at run time (`WriteError::Backend`,
//! after its own retries) is marked down for a backoff that doubles with
//! each failure in a row, and the *same* conversation and seed go to the
//! next member; a setup error (`WriteError::Config`) is returned at once.
//! Down members are still tried, last, so a call fails only when every
//! member failed it; a member that answers is up again.

use crate::{Chat, Llm, Sampling, Sink};
use mural_prompt::WriteError;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A `[writer_pools.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WriterPoolConfig {
    /// The `[writers.NAME]` profiles (kind "openai") that write for it.
    pub members: Vec<String>,
    /// Milliseconds a failed member sits out (default 5000), doubling with
    /// each failure in a row, at most a minute.
    pub backoff_ms: Option<u64>,
}

struct Member {
    name: String,
    backend: Box<dyn Llm>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    failures: u32,
    down_until: Option<Instant>,
    done: u64,
}

/// One member's health and load.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmMemberStats {
    pub name: String,
    pub healthy: bool,
    pub in_flight: usize,
    pub done: u64,
    pub failures: u32,
}

/// Several chat backends that write as one.
pub struct LlmPool {
    name: String,
    members: Vec<Member>,
    backoff: Duration,
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl LlmPool {
    /// A pool named `name` (what the recipe records, and `--writer` takes).
    pub fn new(name: &str, members: Vec<(String, Box<dyn Llm>)>, backoff: Duration) -> LlmPool {
        LlmPool {
            name: name.to_string(),
            members: members
                .into_iter()
                .map(|(name, backend)| Member {
                    name,
                    backend,
                    state: Mutex::new(State::default()),
                })
                .collect(),
            backoff,
        }
    }

    fn state(m: &Member) -> std::sync::MutexGuard<'_, State> {
        m.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The order to try members in: healthy ones by load (ties by their
    /// place in the list), then down ones, soonest back first.
    fn order(&self, now: Instant) -> Vec<usize> {
        let mut keyed: Vec<(bool, Option<Instant>, usize, usize)> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let s = Self::state(m);
                let down = s.down_until.filter(|t| *t > now);
                (down.is_some(), down, s.in_flight, i)
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|k| k.3).collect()
    }

    /// Every member's health and load now.
    pub fn stats(&self) -> Vec<LlmMemberStats> {
        let now = Instant::now();
        self.members
            .iter()
            .map(|m| {
                let s = Self::state(m);
                LlmMemberStats {
                    name: m.name.clone(),
                    healthy: s.down_until.is_none_or(|t| t <= now),
                    in_flight: s.in_flight,
                    done: s.done,
                    failures: s.failures,
                }
            })
            .collect()
    }
}

/// One probe of a writer pool's member, as `mural pool status` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WriterProbe {
    pub name: String,
    pub kind: &'static str,
    /// The member's base URL (credentials in it removed).
    pub url: String,
    pub healthy: bool,
    pub latency_ms: u64,
    /// The model the member's profile asks for.
    pub model: String,
    /// Whether the server lists that model (`None` when it did not answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_model: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Probes each member of a writer pool at once with `GET /models`, which
/// generates nothing; `env` looks up keys as for [`crate::build`]. A
/// member that answers is up; whether it lists its profile's model is
/// reported beside (Ollama, for one, answers `llama3.2` for
/// `llama3.2:latest`).
pub async fn probe(
    members: &[(String, crate::WriterProfile)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<WriterProbe> {
    let one = |name: &str, p: &crate::WriterProfile| {
        let chat = crate::openai::OpenAiChat::new(p, env);
        let name = name.to_string();
        async move {
            let chat = match chat {
                Ok(c) => c,
                Err(e) => {
                    return WriterProbe {
                        name,
                        kind: "openai",
                        url: String::new(),
                        healthy: false,
                        latency_ms: 0,
                        model: String::new(),
                        has_model: None,
                        models: None,
                        error: Some(e.to_string()),
                    }
                }
            };
            let started = Instant::now();
            let r = chat.models().await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let model = chat.model().to_string();
            let (healthy, has_model, models, error) = match r {
                Ok(list) => {
                    let has = list
                        .iter()
                        .any(|m| m == &model || m.split(':').next() == Some(model.as_str()));
                    (true, Some(has), Some(list), None)
                }
                Err(e) => (false, None, None, Some(e.to_string())),
            };
            WriterProbe {
                name,
                kind: "openai",
                url: mural_http::redact_userinfo(chat.base()),
                healthy,
                latency_ms,
                model,
                has_model,
                models,
                error,
            }
        }
    };
    futures_util::future::join_all(members.iter().map(|(n, p)| one(n, p))).await
}

impl Llm for LlmPool {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn complete(
        &self,
        chat: &Chat,
        n: usize,
        seed: u64,
        sampling: &Sampling,
        sink: Option<&Sink>,
    ) -> Result<Vec<String>, WriteError> {
        crate::bridge::block_here(self.complete_async(chat, n, seed, sampling, sink))
    }

    /// Awaits each member in turn (no runtime of its own: the pipeline's
    /// and the server's runtimes drive it); no lock is held across a wait.
    fn complete_async<'a>(
        &'a self,
        chat: &'a Chat,
        n: usize,
        seed: u64,
        sampling: &'a Sampling,
        sink: Option<&'a Sink>,
    ) -> crate::BoxFuture<'a, Result<Vec<String>, WriteError>> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for i in self.order(Instant::now()) {
                let m = &self.members[i];
                Self::state(m).in_flight += 1;
                let r = m
                    .backend
                    .complete_async(chat, n, seed, sampling, sink)
                    .await;
                let mut s = Self::state(m);
                s.in_flight -= 1;
                match r {
                    Ok(texts) => {
                        s.failures = 0;
                        s.down_until = None;
                        s.done += 1;
                        return Ok(texts);
                    }
                    Err(WriteError::Backend { message, .. }) => {
                        s.failures += 1;
                        let shift = s.failures.saturating_sub(1).min(16);
                        let wait = self.backoff.saturating_mul(1 << shift).min(MAX_BACKOFF);
                        s.down_until = Some(Instant::now() + wait);
                        errors.push(format!("{}: {message}", m.name));
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(WriteError::Backend {
                message: format!(
                    "every member of writer pool {:?} failed ({})",
                    self.name,
                    errors.join("; ")
                ),
                retryable: true,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    struct Fake {
        fail: AtomicBool,
        config_error: bool,
        calls: AtomicUsize,
        text: &'static str,
    }

    impl Llm for Arc<Fake> {
        fn name(&self) -> String {
            "fake".into()
        }
        fn complete(
            &self,
            _: &Chat,
            n: usize,
            _: u64,
            _: &Sampling,
            _: Option<&Sink>,
        ) -> Result<Vec<String>, WriteError> {
            self.calls.fetch_add(1, SeqCst);
            if self.config_error {
                return Err(WriteError::Config {
                    message: "bad key".into(),
                });
            }
            if self.fail.load(SeqCst) {
                return Err(WriteError::Backend {
                    message: "HTTP 500".into(),
                    retryable: true,
                });
            }
            Ok(vec![self.text.to_string(); n])
        }
    }

    fn fake(fail: bool, text: &'static str) -> Arc<Fake> {
        Arc::new(Fake {
            fail: fail.into(),
            config_error: false,
            calls: 0.into(),
            text,
        })
    }

    fn pool(members: &[Arc<Fake>]) -> LlmPool {
        LlmPool::new(
            "duo",
            members
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("llm{i}"), Box::new(f.clone()) as Box<dyn Llm>))
                .collect(),
            Duration::from_secs(3600),
        )
    }

    fn ask(p: &LlmPool) -> Result<Vec<String>, WriteError> {
        let chat = Chat {
            messages: Vec::new(),
            completion: String::new(),
            stop: Vec::new(),
        };
        let s = Sampling {
            temperature: 0.7,
            top_p: 1.0,
            max_tokens: 100,
        };
        p.complete(&chat, 1, 1, &s, None)
    }

    #[test]
    fn a_failing_member_hands_the_conversation_to_the_next_and_sits_out() {
        let (bad, good) = (fake(true, "bad"), fake(false, "a red fox"));
        let p = pool(&[bad.clone(), good.clone()]);
        assert_eq!(ask(&p).unwrap(), vec!["a red fox"]);
        assert_eq!((bad.calls.load(SeqCst), good.calls.load(SeqCst)), (1, 1));
        let st = p.stats();
        assert!(!st[0].healthy && st[1].healthy, "{st:?}");
        // the down member is tried last: the next call goes straight to the good one
        assert_eq!(ask(&p).unwrap(), vec!["a red fox"]);
        assert_eq!(bad.calls.load(SeqCst), 1);
        // it comes back when the good one fails and it answers
        bad.fail.store(false, SeqCst);
        good.fail.store(true, SeqCst);
        assert_eq!(ask(&p).unwrap(), vec!["bad"]);
        assert!(p.stats()[0].healthy);
    }

    #[test]
    fn every_member_failing_is_a_backend_error_naming_each() {
        let p = pool(&[fake(true, ""), fake(true, "")]);
        let e = ask(&p).unwrap_err().to_string();
        assert!(
            e.contains("writer pool \"duo\"") && e.contains("llm0: HTTP 500") && e.contains("llm1"),
            "{e}"
        );
    }

    #[test]
    fn a_setup_error_is_not_retried_elsewhere() {
        let bad = Arc::new(Fake {
            fail: false.into(),
            config_error: true,
            calls: 0.into(),
            text: "",
        });
        let good = fake(false, "x");
        let p = pool(&[bad, good.clone()]);
        assert!(matches!(ask(&p), Err(WriteError::Config { .. })));
        assert_eq!(good.calls.load(SeqCst), 0);
    }
}
