//! A loopback HTTP proxy in front of the Kinesis emulator that throttles the
//! way Kinesis does, since kinesalite never does: `PutRecords` entries fail
//! with `ProvisionedThroughputExceededException` (and friends) inside a 200
//! response, and whole calls are refused with HTTP 400. Failed entries are
//! withheld from the emulator, exactly as Kinesis does not store them, so a
//! test can read the stream back and count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::StatusCode;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::proxy::{self, HttpResponse, Parts, Proxy, Upstream};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

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
    proxy: Proxy,
    stats: Arc<FaultStats>,
}

struct State {
    upstream: Upstream,
    plan: FaultPlan,
    rng: Mutex<SmallRng>,
    stats: Arc<FaultStats>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (http://host:port).
    pub async fn start(upstream: &str, plan: FaultPlan) -> std::io::Result<Self> {
        let stats = Arc::new(FaultStats::default());
        let state = Arc::new(State {
            upstream: Upstream::new(upstream),
            rng: Mutex::new(SmallRng::seed_from_u64(plan.seed)),
            plan,
            stats: stats.clone(),
        });
        let proxy = Proxy::start(Arc::new(move |parts: Parts, body: Bytes| {
            let state = state.clone();
            Box::pin(async move {
                if proxy::operation(&parts) == "PutRecords" {
                    put_records(parts, body, &state).await
                } else {
                    state.upstream.pass(parts, body).await
                }
            })
        }))
        .await?;
        Ok(Self { proxy, stats })
    }

    pub fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }

    pub fn stats(&self) -> &FaultStats {
        &self.stats
    }
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

async fn put_records(parts: Parts, body: Bytes, state: &State) -> HttpResponse {
    state.stats.put_records_calls.fetch_add(1, Ordering::Relaxed);
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return state.upstream.pass(parts, body).await;
    };
    let entries = request.get("Records").and_then(Value::as_array).map_or(0, Vec::len);
    let Some(faults) = choose_faults(state, entries) else {
        state.stats.calls_throttled.fetch_add(1, Ordering::Relaxed);
        let body = json!({"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded for stream (injected by the local fault proxy)."});
        return proxy::json_response(StatusCode::BAD_REQUEST, CONTENT_TYPE, &body);
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
        let upstream = match state.upstream.forward(parts, Bytes::from(request.to_string())).await {
            Ok(r) => r,
            Err(e) => return proxy::plain(StatusCode::BAD_GATEWAY, e),
        };
        if upstream.status() != StatusCode::OK {
            return upstream;
        }
        let parsed =
            upstream.into_body().collect().await.ok().and_then(|b| serde_json::from_slice::<Value>(&b.to_bytes()).ok());
        results = parsed.and_then(|v| v.get("Records").and_then(Value::as_array).cloned()).unwrap_or_default();
        if results.len() != forwarded {
            return proxy::plain(
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
    proxy::json_response(
        StatusCode::OK,
        CONTENT_TYPE,
        &json!({"FailedRecordCount": failed_count + upstream_failed, "Records": merged}),
    )
}
