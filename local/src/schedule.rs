//! The local EventBridge schedule: invokes `producer` through the Lambda
//! Invoke API with a scheduled-event payload at a fixed rate, and adds up
//! what each invocation reports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::esm::FunctionInvoker;

#[derive(Debug, Default)]
pub struct ScheduleStats {
    pub invocations: AtomicU64,
    pub failed_invocations: AtomicU64,
    pub rides_sent: AtomicU64,
    pub rides_failed: AtomicU64,
}

/// Invokes every `every` until `invocations` were made (or forever with `None`).
pub async fn run(invoker: FunctionInvoker, every: Duration, invocations: Option<u64>, stats: Arc<ScheduleStats>) {
    let payload = serde_json::to_vec(&events::samples::schedule_event()).unwrap_or_default();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if invocations.is_some_and(|n| stats.invocations.load(Ordering::Relaxed) >= n) {
            return;
        }
        ticker.tick().await;
        stats.invocations.fetch_add(1, Ordering::Relaxed);
        match invoker.invoke(payload.clone()).await {
            Ok(body) => {
                let out: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                stats.rides_sent.fetch_add(out["sent"].as_u64().unwrap_or(0), Ordering::Relaxed);
                stats.rides_failed.fetch_add(out["failed"].as_u64().unwrap_or(0), Ordering::Relaxed);
            }
            Err(e) => {
                stats.failed_invocations.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "producer invocation failed");
            }
        }
    }
}
