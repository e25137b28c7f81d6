//! The replays `cargo xtask bench` feeds its binaries, and their open
//! requests: the fixtures' reads (decompressed, or repeated to 100k
//! records), a nested replay generated from real discovered schemas (`Gen`,
//! deterministic), the 10x-schema sweep (`tenfold`).

use anyhow::{bail, Context};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Decompress a `.jsonl.gz` replay once into `dir`.
pub fn decompress(gz: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = gz
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("replay.jsonl.gz")
        .trim_end_matches(".gz");
    let out_path = dir.join(name);
    if !out_path.exists() {
        eprintln!(
            "bench: decompressing {} into {}",
            gz.display(),
            out_path.display()
        );
        let mut d = flate2::read::GzDecoder::new(
            std::fs::File::open(gz).with_context(|| gz.display().to_string())?,
        );
        let tmp = out_path.with_extension("tmp");
        let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
        std::io::copy(&mut d, &mut out)?;
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, &out_path)?;
    }
    Ok(out_path)
}

/// `read` repeated until it holds at least 100k records.
pub fn repeated(read: &Path, out_path: &Path) -> anyhow::Result<PathBuf> {
    if !out_path.exists() {
        let text = std::fs::read_to_string(read)?;
        let per = text
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"RECORD\"") || l.contains("\"type\": \"RECORD\""))
            .count();
        if per == 0 {
            bail!("{} has no RECORD", read.display());
        }
        let mut out = BufWriter::new(std::fs::File::create(out_path)?);
        for _ in 0..100_000usize.div_ceil(per) {
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
    }
    Ok(out_path.to_path_buf())
}

/// The number of RECORD lines of a replay (any JSON spacing).
pub fn records_in(file: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    for line in std::io::BufReader::new(std::fs::File::open(file)?).lines() {
        let line = line?;
        if line.contains("RECORD")
            && serde_json::from_str::<Value>(&line).is_ok_and(|m| m["type"] == "RECORD")
        {
            n += 1;
        }
    }
    Ok(n)
}

/// The size of the replays made here (the fixtures' 100k faker read is 90 MB).
pub const REPLAY_BYTES: u64 = 90_000_000;

/// The streams of the CATALOG in a discover output.
pub fn discovered_streams(discover: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(discover)
        .with_context(|| format!("reading {}", discover.display()))?;
    let catalog: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")
        .with_context(|| format!("no CATALOG in {}", discover.display()))?;
    Ok(catalog["catalog"]["streams"]
        .as_array()
        .context("no streams")?
        .clone())
}

/// A config the connector's binary accepts (its `spec.map.json` moves must
/// find their values): the workflow's stub of its patched config schema, as
/// `cargo xtask discover` writes it, with every default filled in, and
/// `_atf_skip_interval`. The replay ignores it.
pub fn bench_config(dir: &Path) -> anyhow::Result<Value> {
    let loaded = xtask::ground::load(dir)?;
    let mut config = loaded
        .flow_spec
        .map(|spec| xtask::ground::stub::stub(&spec["configSchema"]).config)
        .unwrap_or_else(|| json!({}));
    // The process ends with the replay, not after `run_interval_minutes`.
    if let Some(c) = config.as_object_mut() {
        c.insert("_atf_skip_interval".into(), json!(true));
    }
    Ok(config)
}

/// The open request capturing `streams` (their write schemas as discover
/// gives them without patches, optionally transformed).
pub fn open_request(
    streams: &[Value],
    config: &Value,
    schema: impl Fn(&Value) -> Value,
) -> anyhow::Result<String> {
    let mut bindings = Vec::new();
    for stream in streams {
        let Some(mut b) =
            patches::apply::discovered_binding(stream, &patches::Connector::EMPTY.streams)?
        else {
            continue;
        };
        b["documentSchema"] = schema(&b["documentSchema"]);
        bindings.push(b);
    }
    let open = open_of("replay", config, &bindings);
    Ok(format!("{open}\n"))
}

/// The schema with every top-level property cloned nine times under other
/// names (`name__1` ...): about 10x the size, the same records.
pub fn tenfold(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        let originals: Vec<(String, Value)> =
            props.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for i in 1..10 {
            for (k, v) in &originals {
                props.insert(format!("{k}__{i}"), v.clone());
            }
        }
    }
    s
}

/// A deterministic record generator following a JSON schema.
pub struct Gen {
    state: u64,
    n: u64,
}

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545F4914F6CDD1D)
    }

    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        self.n += 1;
        let ty = match &schema["type"] {
            Value::String(t) => t.as_str(),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if schema.get("properties").is_some() => "object",
            _ if schema.get("items").is_some() => "array",
            _ => {
                for kw in ["anyOf", "oneOf", "allOf"] {
                    if let Some(first) = schema[kw].as_array().and_then(|a| a.first()) {
                        return self.value(first, depth);
                    }
                }
                "string"
            }
        };
        if schema["format"] == "date-time" {
            // Half of them naive or with a `+0000` offset: they must change.
            let r = self.next();
            let (day, secs) = (r % 28 + 1, r % 86400);
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            return json!(match r % 4 {
                0 => format!("2023-05-{day:02}T{h:02}:{m:02}:{s:02}Z"),
                1 => format!("2023-05-{day:02}T{h:02}:{m:02}:{s:02}.{:06}", r % 1_000_000),
                2 => format!("2023-05-{day:02}T{h:02}:{m:02}:{s:02}+00:00"),
                _ => format!("2023-05-{day:02} {h:02}:{m:02}:{s:02}"),
            });
        }
        match ty {
            "object" if depth < 6 => {
                let mut m = serde_json::Map::new();
                if let Some(Value::Object(props)) = schema.get("properties") {
                    for (k, sub) in props {
                        m.insert(k.clone(), self.value(sub, depth + 1));
                    }
                } else {
                    m.insert("key".into(), json!(format!("value {}", self.n)));
                }
                Value::Object(m)
            }
            "array" if depth < 6 => {
                let items = schema
                    .get("items")
                    .cloned()
                    .unwrap_or(json!({"type": "string"}));
                let len = if depth == 1 { 3 } else { 1 };
                Value::Array((0..len).map(|_| self.value(&items, depth + 1)).collect())
            }
            "integer" => json!(self.next() % 10_000_000_000),
            "number" => json!((self.next() % 1_000_000) as f64 / 100.0),
            "boolean" => json!(self.next().is_multiple_of(2)),
            "null" | "object" | "array" => Value::Null,
            _ => json!(format!("text {} with some words", self.next() % 100_000)),
        }
    }
}

/// A replay of records generated from the discovered schemas of `names` in
/// `discover` (alternating streams, a STATE every 1000 records), about
/// `bytes` long.
pub fn nested_replay(streams: &[Value], out_path: &Path, bytes: u64) -> anyhow::Result<()> {
    if out_path.exists() {
        return Ok(());
    }
    let tmp = out_path.with_extension("tmp");
    let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
    let mut g = Gen {
        state: 0x9E3779B97F4A7C15,
        n: 0,
    };
    let (mut written, mut records) = (0u64, 0u64);
    while written < bytes {
        for stream in streams {
            let data = g.value(&stream["json_schema"], 0);
            let line = json!({"type": "RECORD", "record": {"stream": stream["name"], "data": data, "emitted_at": 1_700_000_000_000u64}}).to_string();
            written += line.len() as u64 + 1;
            writeln!(out, "{line}")?;
            records += 1;
            if records.is_multiple_of(1000) {
                let state = json!({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream["name"]}, "stream_state": {"updated_at": records}}}});
                writeln!(out, "{state}")?;
            }
        }
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, out_path)?;
    Ok(())
}

/// The `open` request of a capture of `bindings` (as the binary's discover
/// gives them: its patches applied), as Flow sends it.
pub fn open_of(name: &str, config: &Value, bindings: &[Value]) -> Value {
    let bindings: Vec<Value> = bindings
        .iter()
        .map(|b| {
            json!({
                "resourceConfig": b["resourceConfig"],
                "resourcePath": b["resourcePath"],
                "collection": {"name": format!("bench/{}", b["recommendedName"].as_str().unwrap_or("x")),
                               "writeSchema": b["documentSchema"], "key": b["key"]},
            })
        })
        .collect();
    json!({"open": {
        "capture": {"name": format!("bench/{name}"), "connectorType": "IMAGE", "config": config, "bindings": bindings},
        "range": {"keyBegin": 0, "keyEnd": 4294967295u32},
        "state": {},
    }})
}
