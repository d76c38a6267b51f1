//! A loopback proxy in front of the DynamoDB emulator that throttles
//! `TransactWriteItems` the two ways DynamoDB does, since moto never does:
//! the whole call refused (`ThrottlingException`, HTTP 400), or the
//! transaction cancelled with a `ThrottlingError` reason for some items and
//! `None` for the rest (nothing written). Throttled calls never reach the
//! emulator, so a test can read the table back and count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::proxy::{self, HttpResponse, Parts, Proxy, Upstream};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// How many `TransactWriteItems` calls to throttle, and how.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePlan {
    /// The first this many calls are refused whole.
    pub refuse_calls: u64,
    /// The next this many are cancelled: their first item `ThrottlingError`.
    pub cancel_calls: u64,
}

#[derive(Debug, Default)]
pub struct ThrottleStats {
    pub transact_calls: AtomicU64,
    pub refused: AtomicU64,
    pub cancelled: AtomicU64,
    pub forwarded: AtomicU64,
}

pub struct ThrottleProxy {
    proxy: Proxy,
    stats: Arc<ThrottleStats>,
}

impl ThrottleProxy {
    pub async fn start(upstream: &str, plan: ThrottlePlan) -> std::io::Result<Self> {
        let stats = Arc::new(ThrottleStats::default());
        let upstream = Arc::new(Upstream::new(upstream));
        let counts = stats.clone();
        let proxy = Proxy::start(Arc::new(move |parts: Parts, body: Bytes| {
            let (upstream, stats) = (upstream.clone(), counts.clone());
            Box::pin(async move {
                if proxy::operation(&parts) != "TransactWriteItems" {
                    return upstream.pass(parts, body).await;
                }
                let call = stats.transact_calls.fetch_add(1, Ordering::Relaxed);
                if call < plan.refuse_calls {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    return refused();
                }
                if call < plan.refuse_calls + plan.cancel_calls {
                    stats.cancelled.fetch_add(1, Ordering::Relaxed);
                    return cancelled(&body);
                }
                stats.forwarded.fetch_add(1, Ordering::Relaxed);
                upstream.pass(parts, body).await
            })
        }))
        .await?;
        Ok(Self { proxy, stats })
    }

    pub fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }

    pub fn stats(&self) -> &ThrottleStats {
        &self.stats
    }
}

fn refused() -> HttpResponse {
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "message": "Throughput exceeds the current capacity for one or more global secondary indexes (injected by the local throttle proxy)."
    });
    proxy::json_response(StatusCode::BAD_REQUEST, CONTENT_TYPE, &body)
}

fn cancelled(request: &Bytes) -> HttpResponse {
    let items = serde_json::from_slice::<Value>(request)
        .ok()
        .and_then(|r| r["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1);
    let reasons: Vec<Value> = (0..items)
        .map(|i| {
            if i == 0 {
                json!({"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table or index (injected)."})
            } else {
                json!({"Code": "None"})
            }
        })
        .collect();
    let codes: Vec<&str> = (0..items).map(|i| if i == 0 { "ThrottlingError" } else { "None" }).collect();
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons
    });
    proxy::json_response(StatusCode::BAD_REQUEST, CONTENT_TYPE, &body)
}
