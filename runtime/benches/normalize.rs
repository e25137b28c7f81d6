//! Criterion benchmark of the per-record hot path over faker `purchases`
//! records (whose naive `created_at`/`updated_at` need rewriting):
//! `cargo bench -p runtime --bench normalize`: the hot path (`splice`) and the
//! reference path (`parse_apply_serialize`).
//!
//! Records and schema come from `../shared/fixtures/airbyte/faker/`; without
//! it, a built-in sample record and schema of the same shape are used.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use runtime::normalize::{is_strict_rfc3339, normalize_datetime, DocNormalizer};
use serde_json::{json, Value};

const SAMPLE: &str = r#"{"id":1,"user_id":2,"product_id":3,"created_at":"2014-10-12T08:08:11.908655","updated_at":"2026-11-24T08:17:22+00:00","added_to_cart_at":"2023-02-25T08:08:11+00:00","purchased_at":"2023-12-05T08:08:11+00:00"}"#;

fn sample_schema() -> Value {
    let ts = json!({"type": ["null", "string"], "format": "date-time"});
    json!({"type": "object", "properties": {
        "id": {"type": ["null", "integer"]}, "user_id": {"type": ["null", "integer"]},
        "product_id": {"type": ["null", "integer"]}, "created_at": ts, "updated_at": ts,
        "added_to_cart_at": ts, "purchased_at": ts, "returned_at": ts
    }})
}

/// (document schema after discover, raw `data` of every purchases RECORD).
fn inputs() -> (Value, Vec<String>) {
    let Some(dir) = testkit::fixture("bench normalize", "faker") else {
        return (sample_schema(), vec![SAMPLE.to_string(); 1000]);
    };
    let discover = std::fs::read_to_string(dir.join("discover.jsonl")).unwrap();
    let stream = discover
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")
        .and_then(|m| {
            m["catalog"]["streams"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == "purchases")
                .cloned()
        })
        .expect("faker discover has purchases");
    let binding = patches::apply::discovered_binding(&stream, &patches::Connector::EMPTY.streams)
        .unwrap()
        .unwrap();
    let read = std::fs::read_to_string(dir.join("read.jsonl")).unwrap();
    let records: Vec<String> = read
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "RECORD" && m["record"]["stream"] == "purchases")
        .map(|m| m["record"]["data"].to_string())
        .collect();
    assert!(!records.is_empty());
    (binding["documentSchema"].clone(), records)
}

fn bench(c: &mut Criterion) {
    let (schema, raw) = inputs();
    let normalizer = DocNormalizer::new(&schema, &[]);
    assert!(!normalizer.is_noop());
    let docs: Vec<Value> = raw
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();

    let mut g = c.benchmark_group("faker_purchases");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function("build_normalizer", |b| {
        b.iter(|| DocNormalizer::new(std::hint::black_box(&schema), &[]))
    });
    g.bench_function("apply", |b| {
        b.iter_batched(
            || docs.clone(),
            |mut docs| {
                for d in &mut docs {
                    normalizer.apply(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("apply_already_normalized", |b| {
        let mut done = docs.clone();
        for d in &mut done {
            normalizer.apply(d);
        }
        b.iter_batched(
            || done.clone(),
            |mut docs| {
                for d in &mut docs {
                    assert!(!normalizer.apply(d));
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("hot_path_splice", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(raw.len() * 256);
            for r in &raw {
                if !normalizer.splice(r, &mut out).unwrap() {
                    out.extend_from_slice(r.as_bytes());
                }
            }
            out
        })
    });
    g.bench_function("parse_apply_serialize", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(raw.len() * 256);
            for r in &raw {
                let mut d: Value = serde_json::from_str(r).unwrap();
                normalizer.apply(&mut d);
                serde_json::to_writer(&mut out, &d).unwrap();
            }
            out
        })
    });
    g.finish();

    c.bench_function("is_strict_rfc3339", |b| {
        b.iter(|| is_strict_rfc3339(std::hint::black_box("2021-01-13T10:25:46.123456+00:00")))
    });
    let naive = json!("2012-04-10T00:14:07.596313");
    c.bench_function("normalize_datetime_naive", |b| {
        b.iter(|| normalize_datetime(std::hint::black_box(&naive)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
