//! Criterion benchmarks of the consumer's hot path on the near-6 MB MSK
//! event, phase by phase, with bytes/s throughput:
//!
//!     cargo bench -p msk-consumer --bench decode
//!
//! (`--bench compare` runs the same work side by side with Python.)

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use events::msk::{MskEvent, MAX_INVOKE_PAYLOAD_BYTES};
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};

fn consumer(c: &mut Criterion) {
    let body = serde_json::to_string(&events::samples::msk_large(MAX_INVOKE_PAYLOAD_BYTES)).expect("json");
    let config = Config::with_dead_letter_dir("unused");
    let invocation = Invocation { request_id: "bench".into(), now_ms: events::samples::SAMPLE_NOW_MS + 60_000 };
    let mut group = c.benchmark_group("msk-6MB");
    group.throughput(Throughput::Bytes(body.len() as u64)).sample_size(30);
    group.bench_function("runtime copy (Box<RawValue>)", |b| {
        b.iter(|| serde_json::from_str::<Box<serde_json::value::RawValue>>(&body).expect("raw"))
    });
    group.bench_function("event parse (borrowed)", |b| {
        b.iter(|| serde_json::from_str::<MskEvent>(&body).expect("event"))
    });
    let event: MskEvent = serde_json::from_str(&body).expect("event");
    group.bench_function("decode + validate + aggregate", |b| b.iter(|| process_batch(&event, &invocation, &config)));
    group.bench_function("whole batch", |b| {
        b.iter(|| {
            let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&body).expect("raw");
            let event: MskEvent = serde_json::from_str(raw.get()).expect("event");
            process_batch(&event, &invocation, &config).0.rides
        })
    });
    group.finish();
}

criterion_group!(benches, consumer);
criterion_main!(benches);
