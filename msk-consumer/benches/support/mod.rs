//! What the Lambda-path benches share: a Lambda Runtime API served on
//! loopback for one function process, the environment Lambda gives a
//! function, and launching one with its init timed (spawn → first `/next`).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Mutex};

pub fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

pub fn median(v: &[f64]) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The environment Lambda gives a function (the template's logging
/// settings), on top of what the caller set.
pub fn lambda_environment(command: &mut Command, api: &str) {
    command
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench-function")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench-function")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_SESSION_TOKEN", "bench")
        .env_remove("PARTIAL_BATCH_RESPONSE")
        .env_remove("RUST_LOG")
        // Lambda sets no CA bundle variables: the functions find the system's.
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        // Lambda reads the function's output from a pipe: so does this.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

/// One invocation handed out by `/next`, and where its answer goes.
pub struct Pending {
    body: Bytes,
    done: oneshot::Sender<(Instant, Instant, Result<Bytes, Bytes>)>,
}

/// A Lambda Runtime API on loopback for one function process.
pub struct RuntimeApi {
    address: String,
    invocations: mpsc::Sender<Pending>,
    first_next: Arc<tokio::sync::Notify>,
    first_next_at: Arc<std::sync::Mutex<Option<Instant>>>,
    init_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl RuntimeApi {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (invocations, queue) = mpsc::channel::<Pending>(1);
        let queue = Arc::new(Mutex::new(queue));
        type Waiting = Arc<std::sync::Mutex<BTreeMap<String, (Instant, Pending)>>>;
        let waiting: Waiting = Arc::default();
        let first_next = Arc::new(tokio::sync::Notify::new());
        let first_next_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
        let init_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let (notify, at, init_failed) = (first_next.clone(), first_next_at.clone(), init_error.clone());
        tokio::spawn(async move {
            static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let (queue, waiting, notify, at, init_failed) =
                    (queue.clone(), waiting.clone(), notify.clone(), at.clone(), init_failed.clone());
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (queue, waiting, notify, at, init_failed) =
                        (queue.clone(), waiting.clone(), notify.clone(), at.clone(), init_failed.clone());
                    let next_id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let id = format!("00000000-0000-4000-8000-{next_id:012}");
                    async move {
                        let path = req.uri().path().to_owned();
                        let reply = |status: u16, body: Bytes| {
                            hyper::Response::builder().status(status).body(Full::new(body)).expect("response")
                        };
                        if path.ends_with("/invocation/next") {
                            if let Ok(mut first) = at.lock() {
                                first.get_or_insert_with(Instant::now);
                            }
                            notify.notify_one();
                            let Some(pending) = queue.lock().await.recv().await else {
                                return Ok::<_, std::convert::Infallible>(reply(410, Bytes::new()));
                            };
                            let body = pending.body.clone();
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_millis() + 300_000);
                            let served = Instant::now();
                            if let Ok(mut w) = waiting.lock() {
                                w.insert(id.clone(), (served, pending));
                            }
                            return Ok(hyper::Response::builder()
                                .status(200)
                                .header("Content-Type", "application/json")
                                .header("Lambda-Runtime-Aws-Request-Id", &id)
                                .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                                .header(
                                    "Lambda-Runtime-Invoked-Function-Arn",
                                    "arn:aws:lambda:us-east-1:123456789012:function:bench-function",
                                )
                                .header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                                .body(Full::new(body))
                                .expect("response"));
                        }
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let received = Instant::now();
                        if path.ends_with("/init/error") {
                            if let Ok(mut e) = init_failed.lock() {
                                *e = Some(String::from_utf8_lossy(&body).into_owned());
                            }
                            notify.notify_one();
                            return Ok(reply(202, Bytes::new()));
                        }
                        let outcome = if path.ends_with("/response") {
                            Ok(body)
                        } else if path.ends_with("/error") {
                            Err(body)
                        } else {
                            return Ok(reply(404, Bytes::new()));
                        };
                        let request = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
                        if let Some((served, pending)) = waiting.lock().ok().and_then(|mut w| w.remove(&request)) {
                            let _ = pending.done.send((served, received, outcome));
                        }
                        Ok(reply(202, Bytes::new()))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { address, invocations, first_next, first_next_at, init_error })
    }

    /// Waits for the function's first `/next` (its init is over).
    pub async fn wait_for_init(&self, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(error) = self.init_error.lock().ok().and_then(|e| e.clone()) {
                anyhow::bail!("the function failed its init: {error}");
            }
            if let Some(at) = self.first_next_at.lock().ok().and_then(|a| *a) {
                return Ok(at);
            }
            anyhow::ensure!(Instant::now() < deadline, "no /next within {timeout:?}");
            let _ = tokio::time::timeout(Duration::from_millis(50), self.first_next.notified()).await;
        }
    }

    /// One invocation: (served → response received, the response).
    pub async fn invoke(&self, body: Bytes) -> anyhow::Result<(f64, Value)> {
        let (done, answer) = oneshot::channel();
        self.invocations.send(Pending { body, done }).await.map_err(|_| anyhow::anyhow!("the API stopped"))?;
        let (served, received, outcome) = tokio::time::timeout(Duration::from_secs(120), answer)
            .await
            .map_err(|_| anyhow::anyhow!("no answer"))??;
        let body = outcome.map_err(|e| anyhow::anyhow!("function error: {}", String::from_utf8_lossy(&e)))?;
        let ms = received.duration_since(served).as_secs_f64() * 1000.0;
        Ok((ms, serde_json::from_slice(&body)?))
    }
}

/// Drains a child's output as Lambda's log pipe would.
pub fn drain(child: &mut std::process::Child) {
    if let Some(mut out) = child.stdout.take() {
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    }
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    }
}

/// Spawns a function under its own Runtime API, with Lambda's environment,
/// and waits for its init to end (its first `/next`): the API, the process
/// and the init time in ms. A function whose init fails is stopped.
pub async fn launch(mut command: Command) -> anyhow::Result<(RuntimeApi, std::process::Child, f64)> {
    let api = RuntimeApi::start().await?;
    lambda_environment(&mut command, &api.address);
    let spawned = Instant::now();
    let mut child = command.spawn()?;
    drain(&mut child);
    match api.wait_for_init(Duration::from_secs(60)).await {
        Ok(ready) => Ok((api, child, ready.duration_since(spawned).as_secs_f64() * 1000.0)),
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(error)
        }
    }
}
