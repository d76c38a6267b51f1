//! A loopback proxy in front of the DynamoDB emulator that throttles
//! `PutItem` the ways DynamoDB does, since moto never does: the call refused
//! with HTTP 400 `ProvisionedThroughputExceededException` or
//! `ThrottlingException` (alternately), nothing written. Throttled calls
//! never reach the emulator, so a test can read the table back and count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;

use crate::proxy::{self, Parts, Proxy, Upstream};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Which `PutItem` calls to throttle: the first `first_calls`, then every
/// `every`-th (0: none after the first ones).
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePlan {
    pub first_calls: u64,
    pub every: u64,
}

#[derive(Debug, Default)]
pub struct ThrottleStats {
    pub put_calls: AtomicU64,
    pub throttled: AtomicU64,
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
                if proxy::operation(&parts) != "PutItem" {
                    return upstream.pass(parts, body).await;
                }
                let call = stats.put_calls.fetch_add(1, Ordering::Relaxed);
                if call < plan.first_calls || (plan.every > 0 && call % plan.every == 0) {
                    let n = stats.throttled.fetch_add(1, Ordering::Relaxed);
                    let code = if n % 2 == 0 { "ProvisionedThroughputExceededException" } else { "ThrottlingException" };
                    let body = json!({
                        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                        "message": "The level of configured provisioned throughput for the table was exceeded (injected by the local throttle proxy)."
                    });
                    return proxy::json_response(StatusCode::BAD_REQUEST, CONTENT_TYPE, &body);
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
