//! Criterion benchmarks of the consumer's hot path on the near-6 MB MSK
//! event, phase by phase, each beside what it replaced, with bytes/s:
//!
//!     cargo bench -p msk-consumer --bench decode
//!
//! (`--bench compare` runs the whole batch side by side with Python.)

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use events::msk::{MskEvent, MAX_INVOKE_PAYLOAD_BYTES};
use events::CarRideEvent;
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};
use serde_json::value::RawValue;

fn consumer(c: &mut Criterion) {
    let body = serde_json::to_vec(&events::samples::msk_large(MAX_INVOKE_PAYLOAD_BYTES)).expect("json");
    let config = Config::with_dead_letter_dir("unused");
    let invocation =
        Invocation { request_id: "bench".into(), now_ms: events::samples::SAMPLE_NOW_MS + 60_000, deadline: None };
    let event = msk_consumer::parse_event(&body).expect("event");

    let mut group = c.benchmark_group("event parse (6 MB)");
    group.throughput(Throughput::Bytes(body.len() as u64)).sample_size(30);
    group.bench_function("runtime's pass (Box<RawValue>)", |b| {
        b.iter(|| serde_json::from_slice::<Box<RawValue>>(&body).expect("raw"))
    });
    group.bench_function("serde_json, headers raw", |b| {
        b.iter(|| serde_json::from_slice::<MskEvent<'_>>(&body).expect("event"))
    });
    group.bench_function("fast path (parse_event)", |b| b.iter(|| msk_consumer::parse_event(&body).expect("event")));
    group.finish();

    let values: Vec<&str> = event.iter().filter_map(|(_, r)| r.value.as_deref()).collect();
    let mut group = c.benchmark_group("base64 (every value)");
    group.throughput(Throughput::Bytes(values.iter().map(|v| v.len() as u64).sum())).sample_size(30);
    let mut buf = Vec::with_capacity(1024);
    group.bench_function("general_purpose::STANDARD", |b| {
        b.iter(|| {
            values.iter().map(|v| decode_into(&base64::engine::general_purpose::STANDARD, v, &mut buf)).sum::<usize>()
        })
    });
    group.bench_function("Simd (AVX2/NEON)", |b| {
        b.iter(|| values.iter().map(|v| decode_into(&*msk_consumer::decode::BASE64, v, &mut buf)).sum::<usize>())
    });
    group.finish();

    let rides: Vec<String> = values
        .iter()
        .filter_map(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .collect();
    let mut group = c.benchmark_group("ride parse (every value)");
    group.throughput(Throughput::Bytes(rides.iter().map(|r| r.len() as u64).sum())).sample_size(30);
    group.bench_function("serde_json", |b| {
        b.iter(|| {
            rides
                .iter()
                .map(|r| serde_json::from_str::<CarRideEvent<'_>>(r).map_or(0, |e| e.ride_timestamp))
                .sum::<i64>()
        })
    });
    group.bench_function("fast path", |b| {
        b.iter(|| rides.iter().map(|r| events::fast::ride(r).map_or(0, |e| e.ride_timestamp)).sum::<i64>())
    });
    group.finish();

    let mut group = c.benchmark_group("whole batch (6 MB)");
    group.throughput(Throughput::Bytes(body.len() as u64)).sample_size(30);
    group.bench_function("decode + validate + aggregate", |b| b.iter(|| process_batch(&event, &invocation, &config)));
    group.bench_function("runtime pass + serde_json event + processing", |b| {
        b.iter(|| {
            let raw: Box<RawValue> = serde_json::from_slice(&body).expect("raw");
            let event: MskEvent<'_> = serde_json::from_str(raw.get()).expect("event");
            process_batch(&event, &invocation, &config).0.rides
        })
    });
    group.bench_function("parse_event + processing (the Lambda)", |b| {
        b.iter(|| {
            let event = msk_consumer::parse_event(&body).expect("event");
            process_batch(&event, &invocation, &config).0.rides
        })
    });
    group.finish();

    // The upper bound of splitting a batch across Lambda's two vCPUs (≥ 1,769
    // MB): half the partitions per thread, no cost for merging the results.
    let (left, right) = halves(&event);
    let mut group = c.benchmark_group("partitions (decode + validate + aggregate)");
    group.throughput(Throughput::Bytes(body.len() as u64)).sample_size(30);
    group.bench_function("one thread", |b| b.iter(|| process_batch(&event, &invocation, &config).0.rides));
    group.bench_function("two threads, half the partitions each", |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                let other = scope.spawn(|| process_batch(&right, &invocation, &config).0.rides);
                process_batch(&left, &invocation, &config).0.rides + other.join().unwrap_or_default()
            })
        })
    });
    group.finish();
}

fn halves<'a>(event: &MskEvent<'a>) -> (MskEvent<'a>, MskEvent<'a>) {
    let (mut left, mut right) = (MskEvent::default(), MskEvent::default());
    for (i, (key, records)) in event.records.iter().enumerate() {
        let half = if i % 2 == 0 { &mut left } else { &mut right };
        half.records.insert(key.clone(), records.clone());
    }
    (left, right)
}

fn decode_into(engine: &impl base64::Engine, value: &str, buf: &mut Vec<u8>) -> usize {
    buf.clear();
    engine.decode_vec(value, buf).map_or(0, |()| buf.len())
}

criterion_group!(benches, consumer);
criterion_main!(benches);
