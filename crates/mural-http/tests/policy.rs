//! The retry policy against a scripted HTTP server on loopback that injects
//! faults: 429 with retry-after, 500, a slow reply past the timeout, a
//! truncated body, a reset connection, a refusal.

use mural_http::{Client, Kind, Limit, Policy, Verdict};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone)]
enum Act {
    Reply(u16, &'static str, String),
    Truncate(String),
    Reset,
    Slow(Duration),
    /// A 200 whose JSON body comes in chunks, with no content-length.
    Chunked(String),
}

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn serve(script: Vec<Act>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (h, s) = (hits.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            let (hits, seen) = (h.clone(), s.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            seen.lock().unwrap().push(head);
                            break;
                        }
                    }
                }
                hits.fetch_add(1, Ordering::SeqCst);
                let act = script.lock().unwrap().pop_front().unwrap_or(Act::Reply(
                    200,
                    "",
                    r#"{"ok":true}"#.into(),
                ));
                let reply = |status: u16, extra: &str, body: &str| {
                    format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n{extra}\r\n{body}", body.len())
                };
                match act {
                    Act::Reply(status, extra, body) => {
                        let _ = sock.write_all(reply(status, extra, &body).as_bytes()).await;
                    }
                    Act::Truncate(body) => {
                        let full = reply(200, "", &body);
                        let cut = full.len() - body.len() / 2;
                        let _ = sock.write_all(&full.as_bytes()[..cut]).await;
                        let _ = sock.flush().await;
                    }
                    Act::Reset => {
                        #[allow(deprecated)]
                        let _ = sock.set_linger(Some(Duration::ZERO));
                    }
                    Act::Chunked(body) => {
                        let mut out = "HTTP/1.1 200 X\r\ncontent-type: application/json\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
                        for piece in body.as_bytes().chunks(100) {
                            out.push_str(&format!(
                                "{:x}\r\n{}\r\n",
                                piece.len(),
                                String::from_utf8_lossy(piece)
                            ));
                        }
                        out.push_str("0\r\n\r\n");
                        let _ = sock.write_all(out.as_bytes()).await;
                    }
                    Act::Slow(d) => {
                        tokio::time::sleep(d).await;
                        let _ = sock
                            .write_all(reply(200, "", r#"{"ok":"late"}"#).as_bytes())
                            .await;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    Server { url, hits, seen }
}

fn fast_policy() -> Policy {
    Policy {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(400),
        max_retries: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(300),
        max_body: mural_http::MAX_BODY,
    }
}

fn client(p: Policy) -> Client {
    Client::builder("fake")
        .policy(p)
        .secret("sk-very-secret-key")
        .key_hint("OPENAI_API_KEY")
        .build()
        .unwrap()
}

async fn get(c: &Client, url: &str) -> Result<Value, mural_http::HttpError> {
    c.call(
        "get thing",
        |h| {
            h.post(format!("{url}/thing"))
                .bearer_auth("sk-very-secret-key")
                .body("{}")
        },
        |r| {
            if let Some(v) = c.classify(r) {
                return v;
            }
            match r.json() {
                Ok(v) => Verdict::Done(v),
                Err(v) => v,
            }
        },
    )
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn every_transient_fault_is_retried_until_success() {
    let s = serve(vec![
        Act::Reply(
            429,
            "retry-after-ms: 30\r\n",
            r#"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#.into(),
        ),
        Act::Reply(500, "", "oops".into()),
        Act::Slow(Duration::from_secs(2)),
        Act::Truncate(
            r#"{"ok":true,"data":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.into(),
        ),
        Act::Reset,
    ])
    .await;
    let c = client(Policy {
        max_retries: 5,
        ..fast_policy()
    });
    let v = get(&c, &s.url).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(s.hits.load(Ordering::SeqCst), 6);
    assert!(s.seen.lock().unwrap()[0].contains("authorization: Bearer sk-very-secret-key"));
}

#[tokio::test(flavor = "current_thread")]
async fn retry_after_is_honored() {
    let s = serve(vec![Act::Reply(503, "retry-after: 0.25\r\n", "{}".into())]).await;
    let c = client(fast_policy());
    let t = Instant::now();
    get(&c, &s.url).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(240),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn gives_up_after_the_retries_with_the_last_reason() {
    let s = serve(vec![Act::Reply(502, "", "bad gateway".into()); 10]).await;
    let c = client(Policy {
        max_retries: 2,
        ..fast_policy()
    });
    let e = get(&c, &s.url).await.unwrap_err();
    assert_eq!(e.kind, Kind::Unavailable);
    assert_eq!(e.attempts, 3);
    assert!(
        e.message.contains("HTTP 502: bad gateway") && e.message.contains("3 attempts"),
        "{}",
        e.message
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn refusals_auth_and_quota_are_never_retried() {
    let cases = [
        (
            400,
            r#"{"error":{"message":"Your request was rejected by our safety system","type":"image_generation_user_error","code":"content_policy_violation"}}"#,
            Kind::Refused,
        ),
        (
            400,
            r#"{"error":{"message":"blocked","code":"moderation_blocked"}}"#,
            Kind::Refused,
        ),
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-very-secret-key."}}"#,
            Kind::Auth,
        ),
        (
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
            Kind::Quota,
        ),
        (
            400,
            r#"{"error":{"message":"size must be one of ..."}}"#,
            Kind::InvalidRequest,
        ),
    ];
    for (status, body, kind) in cases {
        let s = serve(vec![Act::Reply(status, "", body.into())]).await;
        let e = get(&client(fast_policy()), &s.url).await.unwrap_err();
        assert_eq!(e.kind, kind, "{body}");
        assert_eq!(s.hits.load(Ordering::SeqCst), 1, "{body}");
        assert!(!e.message.contains("sk-very-secret-key"), "{}", e.message);
        if kind == Kind::Auth {
            assert!(
                e.message.contains("check OPENAI_API_KEY") && e.message.contains("[redacted]"),
                "{}",
                e.message
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn x_should_retry_false_stops_retries() {
    let s = serve(vec![Act::Reply(
        500,
        "x-should-retry: false\r\n",
        "{}".into(),
    )])
    .await;
    let e = get(&client(fast_policy()), &s.url).await.unwrap_err();
    assert_eq!(e.kind, Kind::Failed);
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_server_names_the_url() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = get(
        &client(Policy {
            max_retries: 1,
            ..fast_policy()
        }),
        &url,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::Unavailable);
    assert!(
        e.message.contains("cannot connect") && e.message.contains(&url),
        "{}",
        e.message
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_rate_limit_spaces_calls() {
    let s = serve(vec![]).await;
    let c = Client::builder("fake")
        .policy(fast_policy())
        .limit(Limit {
            concurrency: 8,
            rate_per_minute: Some(1200.0),
        }) // one per 50 ms
        .build()
        .unwrap();
    let t = Instant::now();
    let calls = (0..6).map(|_| get(&c, &s.url));
    for r in futures_join_all(calls).await {
        r.unwrap();
    }
    // 6 calls: the last starts 5 intervals after the first
    assert!(
        t.elapsed() >= Duration::from_millis(245),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_concurrency_limit_holds() {
    let s = serve(vec![Act::Slow(Duration::from_millis(100)); 4]).await;
    let c = Client::builder("fake")
        .policy(Policy {
            timeout: Duration::from_secs(5),
            ..fast_policy()
        })
        .limit(Limit {
            concurrency: 1,
            rate_per_minute: None,
        })
        .build()
        .unwrap();
    let t = Instant::now();
    for r in futures_join_all((0..4).map(|_| get(&c, &s.url))).await {
        r.unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(390),
        "{:?}",
        t.elapsed()
    );
}

async fn futures_join_all<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = fs.map(Box::pin).collect();
    let mut out = Vec::new();
    // poll all concurrently on this task
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.unwrap()));
    out
}

#[tokio::test(flavor = "current_thread")]
async fn a_reply_over_the_size_cap_is_refused_not_buffered_or_retried() {
    let big = format!(r#"{{"ok":true,"pad":"{}"}}"#, "x".repeat(5000));
    let small = r#"{"ok":true}"#.to_string();
    let s = serve(vec![
        // content-length says it at once
        Act::Reply(200, "", big.clone()),
        // chunked: found out while it streams
        Act::Chunked(big.clone()),
        Act::Chunked(small),
    ])
    .await;
    let c = client(Policy {
        max_body: 4096,
        ..fast_policy()
    });
    for _ in 0..2 {
        let e = get(&c, &s.url).await.unwrap_err();
        assert_eq!(e.kind, Kind::Failed, "{e}");
        assert_eq!(e.attempts, 1, "not retried: {e}");
        assert!(
            e.message.contains("the reply is larger than 4 KiB"),
            "{}",
            e.message
        );
    }
    assert_eq!(get(&c, &s.url).await.unwrap()["ok"], true);
    assert_eq!(s.hits.load(Ordering::SeqCst), 3);
}
