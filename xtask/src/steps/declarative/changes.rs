//! What a bump changed, for the user: the config fields of the two specs,
//! and the streams, keys and cursor fields of the two discovers (run against
//! the connector's mock API, where it has one).

use crate::steps::mock::MockRun;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// The config fields of a spec: every property path of its
/// `connectionSpecification` (`credentials.api_key`; `oneOf` options'
/// properties under their parent).
pub fn config_fields(spec: &Value) -> Vec<String> {
    fn walk(schema: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in props {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                walk(v, &path, out);
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for option in schema[key].as_array().into_iter().flatten() {
                walk(option, prefix, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&spec["connectionSpecification"], "", &mut out);
    out.sort();
    out.dedup();
    out
}

/// Lines saying which config fields one spec has and the other has not.
pub fn spec_changes(old: &Value, new: &Value) -> Vec<String> {
    let (old, new) = (config_fields(old), config_fields(new));
    let added: Vec<&String> = new.iter().filter(|f| !old.contains(f)).collect();
    let removed: Vec<&String> = old.iter().filter(|f| !new.contains(f)).collect();
    let mut out = Vec::new();
    for f in &added {
        out.push(format!("config field added: {f}"));
    }
    for f in &removed {
        out.push(format!("config field removed: {f}"));
    }
    if out.is_empty() {
        out.push(format!("config fields: the same {}", new.len()));
    }
    out
}

/// One discovered stream: its primary key and cursor field, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub key: String,
    pub cursor: String,
}

/// Runs `entrypoint discover` with the connector's mock config against its
/// mock API; `Ok(None)` when the connector has no mock config.
pub fn discover(
    dir: &Path,
    entrypoint: &str,
) -> anyhow::Result<Option<BTreeMap<String, Discovered>>> {
    if !dir.join("tests/mock/config.json").is_file() {
        return Ok(None);
    }
    let mock = MockRun::start(dir, &[])?;
    let config = mock.config()?;
    let tmp = std::env::temp_dir().join(format!("atf-bump-config-{}.json", std::process::id()));
    std::fs::write(&tmp, config.to_string())?;
    let argv = shell_words::split(entrypoint)?;
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("discover")
        .arg("--config")
        .arg(&tmp)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let _ = std::fs::remove_file(&tmp);
    drop(mock);
    let out = out?;
    let text = |v: &Value| {
        if v.is_null() {
            "none".to_string()
        } else {
            v.to_string()
        }
    };
    let catalog = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG");
    let Some(catalog) = catalog else {
        anyhow::bail!("its discover printed no catalog ({})", out.status);
    };
    Ok(Some(
        catalog["catalog"]["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["name"].as_str().unwrap_or_default().to_string(),
                    Discovered {
                        key: text(&s["source_defined_primary_key"]),
                        cursor: text(&s["default_cursor_field"]),
                    },
                )
            })
            .collect(),
    ))
}

/// Lines saying which streams, keys and cursor fields changed.
pub fn stream_changes(
    old: &BTreeMap<String, Discovered>,
    new: &BTreeMap<String, Discovered>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, n) in new {
        match old.get(name) {
            None => out.push(format!(
                "stream added: {name} (key {}, cursor {})",
                n.key, n.cursor
            )),
            Some(o) => {
                if o.key != n.key {
                    out.push(format!("stream {name}: key {} -> {}", o.key, n.key));
                }
                if o.cursor != n.cursor {
                    out.push(format!(
                        "stream {name}: cursor {} -> {}",
                        o.cursor, n.cursor
                    ));
                }
            }
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("stream removed: {name}"));
    }
    if out.is_empty() {
        out.push(format!(
            "streams: the same {}, keys and cursors unchanged",
            new.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_fields_walk_options() {
        let spec = json!({"connectionSpecification": {"properties": {
            "start": {"type": "string"},
            "credentials": {"oneOf": [
                {"properties": {"auth_type": {}, "api_key": {}}},
                {"properties": {"auth_type": {}, "client_id": {}}}
            ]}
        }}});
        assert_eq!(
            config_fields(&spec),
            [
                "credentials",
                "credentials.api_key",
                "credentials.auth_type",
                "credentials.client_id",
                "start"
            ]
        );
        let new = json!({"connectionSpecification": {"properties": {"start": {}, "domain": {}}}});
        let lines = spec_changes(&spec, &new);
        assert!(
            lines.contains(&"config field added: domain".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"config field removed: credentials.api_key".to_string()));
    }

    #[test]
    fn stream_changes_name_keys_and_cursors() {
        let d = |k: &str, c: &str| Discovered {
            key: k.into(),
            cursor: c.into(),
        };
        let old = BTreeMap::from([
            ("a".to_string(), d("[[\"id\"]]", "[\"updated_at\"]")),
            ("gone".to_string(), d("none", "none")),
        ]);
        let new = BTreeMap::from([
            ("a".to_string(), d("[[\"id\"]]", "[\"modified\"]")),
            ("b".to_string(), d("none", "none")),
        ]);
        assert_eq!(
            stream_changes(&old, &new),
            [
                "stream a: cursor [\"updated_at\"] -> [\"modified\"]",
                "stream added: b (key none, cursor none)",
                "stream removed: gone"
            ]
        );
    }
}
