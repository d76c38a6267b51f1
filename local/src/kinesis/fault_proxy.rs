//! A loopback HTTP proxy in front of the Kinesis emulator that throttles the
//! way Kinesis does, since kinesalite never does: `PutRecords` entries fail
//! with `ProvisionedThroughputExceededException` (and friends) inside a 200
//! response, and whole calls are refused with HTTP 400. Failed entries are
//! withheld from the emulator, exactly as Kinesis does not store them, so a
//! test can read the stream back and count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What to break, as probabilities per entry / per call, reproducible by seed.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Chance that one `PutRecords` entry fails.
    pub entry_failure_rate: f64,
    /// Chance that a whole `PutRecords` call is refused (HTTP 400).
    pub call_throttle_rate: f64,
    /// Entry error codes, chosen uniformly.
    pub entry_codes: Vec<&'static str>,
    pub seed: u64,
}

impl FaultPlan {
    pub fn throttling(entry_failure_rate: f64, call_throttle_rate: f64, seed: u64) -> Self {
        Self {
            entry_failure_rate,
            call_throttle_rate,
            entry_codes: vec!["ProvisionedThroughputExceededException", "KMSThrottlingException", "InternalFailure"],
            seed,
        }
    }
}

/// Counts of what the proxy did, to prove a test's faults really happened.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub put_records_calls: AtomicU64,
    pub entries_failed: AtomicU64,
    pub calls_throttled: AtomicU64,
    pub entries_forwarded: AtomicU64,
}

pub struct FaultProxy {
    addr: SocketAddr,
    stats: Arc<FaultStats>,
    task: JoinHandle<()>,
}

struct State {
    upstream: String,
    plan: FaultPlan,
    rng: Mutex<SmallRng>,
    stats: Arc<FaultStats>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (http://host:port).
    pub async fn start(upstream: &str, plan: FaultPlan) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(FaultStats::default());
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rng: Mutex::new(SmallRng::seed_from_u64(plan.seed)),
            plan,
            stats: stats.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| proxy(req, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, stats, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> &FaultStats {
        &self.stats
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ProxyResult = Result<Response<Full<Bytes>>, std::convert::Infallible>;

async fn proxy(req: Request<Incoming>, state: Arc<State>) -> ProxyResult {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("reading request: {e}"))),
    };
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target.ends_with(".PutRecords") {
        return Ok(put_records(parts, body, &state).await);
    }
    Ok(forward(parts, body, &state).await.unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, e)))
}

async fn forward(
    mut parts: hyper::http::request::Parts,
    body: Bytes,
    state: &State,
) -> Result<Response<Full<Bytes>>, String> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{}{}", state.upstream, path).parse().map_err(|e| format!("upstream uri: {e}"))?;
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    let response = state
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| format!("upstream {}: {e}", state.upstream))?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| format!("upstream body: {e}"))?.to_bytes();
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Decides the faults for one call: `None` refuses the call, else the
/// positions of the entries to fail, each with its code.
fn choose_faults(state: &State, entries: usize) -> Option<Vec<(usize, &'static str)>> {
    let mut rng = state.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if rng.random_bool(state.plan.call_throttle_rate.clamp(0.0, 1.0)) {
        return None;
    }
    let rate = state.plan.entry_failure_rate.clamp(0.0, 1.0);
    let codes = &state.plan.entry_codes;
    let mut faults = Vec::new();
    for i in 0..entries {
        if rng.random_bool(rate) {
            let code = codes.get(rng.random_range(0..codes.len().max(1))).copied().unwrap_or("InternalFailure");
            faults.push((i, code));
        }
    }
    Some(faults)
}

async fn put_records(parts: hyper::http::request::Parts, body: Bytes, state: &State) -> Response<Full<Bytes>> {
    state.stats.put_records_calls.fetch_add(1, Ordering::Relaxed);
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return forward(parts, body, state).await.unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, e));
    };
    let entries = request.get("Records").and_then(Value::as_array).map_or(0, Vec::len);
    let Some(faults) = choose_faults(state, entries) else {
        state.stats.calls_throttled.fetch_add(1, Ordering::Relaxed);
        let body = json!({"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded for stream (injected by the local fault proxy)."});
        return json_response(StatusCode::BAD_REQUEST, &body);
    };
    let failing: Vec<usize> = faults.iter().map(|(i, _)| *i).collect();
    if let Some(records) = request.get_mut("Records").and_then(Value::as_array_mut) {
        let mut index = 0;
        records.retain(|_| {
            let keep = !failing.contains(&index);
            index += 1;
            keep
        });
    }
    let forwarded = entries - failing.len();
    let mut results: Vec<Value> = Vec::new();
    if forwarded > 0 {
        let upstream = match forward(parts, Bytes::from(request.to_string()), state).await {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_GATEWAY, e),
        };
        if upstream.status() != StatusCode::OK {
            return upstream;
        }
        let parsed =
            upstream.into_body().collect().await.ok().and_then(|b| serde_json::from_slice::<Value>(&b.to_bytes()).ok());
        results = parsed.and_then(|v| v.get("Records").and_then(Value::as_array).cloned()).unwrap_or_default();
        if results.len() != forwarded {
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("emulator answered {} results for {forwarded} records", results.len()),
            );
        }
        state.stats.entries_forwarded.fetch_add(forwarded as u64, Ordering::Relaxed);
    }
    state.stats.entries_failed.fetch_add(failing.len() as u64, Ordering::Relaxed);
    let mut upstream_results = results.into_iter();
    let mut failed_count = 0;
    let merged: Vec<Value> = (0..entries)
        .map(|i| match faults.iter().find(|(f, _)| *f == i) {
            Some((_, code)) => {
                failed_count += 1;
                json!({"ErrorCode": code, "ErrorMessage": format!("{code} injected by the local fault proxy")})
            }
            None => upstream_results.next().unwrap_or(Value::Null),
        })
        .collect();
    let upstream_failed = merged.iter().filter(|r| r.get("ErrorCode").is_some()).count() - failed_count;
    json_response(StatusCode::OK, &json!({"FailedRecordCount": failed_count + upstream_failed, "Records": merged}))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"));
    response
}

fn plain(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
}
