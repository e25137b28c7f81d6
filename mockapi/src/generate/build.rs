//! A plan (what `plan.py` read from the manifest) made into a mock: the
//! routes, records and scenarios of [`crate::spec`] (see the parent module
//! for what each stream gets).

use super::config;
use super::records::Shape;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Page size where the manifest names none (the API's own default).
const DEFAULT_PAGE: usize = 10;

/// Makes `path` exist in `record` (objects on the way, a string at the end)
/// where it does not: a field the manifest's transformations read.
fn ensure_path(record: &mut Value, path: &[String], i: usize) {
    let mut at = record;
    for (n, key) in path.iter().enumerate() {
        if !at.is_object() {
            return;
        }
        let last = n + 1 == path.len();
        if at.get(key).is_none_or(Value::is_null) {
            at[key.as_str()] = if last {
                json!(format!("{key} {}", i + 1))
            } else {
                json!({})
            };
        }
        at = &mut at[key.as_str()];
    }
}

/// Sets `path` of `record` to `value` (objects on the way).
fn set_path(record: &mut Value, path: &[String], value: Value) {
    let Some((last, on_the_way)) = path.split_last() else {
        return;
    };
    let mut at = record;
    for key in on_the_way {
        if !at.get(key).is_some_and(Value::is_object) {
            at[key.as_str()] = json!({});
        }
        at = &mut at[key.as_str()];
    }
    at[last.as_str()] = value;
}

/// For an authenticator that gets its credential from the API (an OAuth
/// token refresh, a session login): the public route that gives it, the
/// route's host, and the auth the other routes then require.
fn credential_route(auth: &Value, seed: u64) -> Option<(Value, String, Value)> {
    let token = format!("mock-token-{:016x}", config::salt(seed, "token"));
    if let Some(o) = auth.get("oauth") {
        let body = json!({
            o["token_name"].as_str().unwrap_or("access_token"): token,
            o["expires_name"].as_str().unwrap_or("expires_in"): 3600,
            "token_type": "Bearer",
        });
        let route = json!({"name": "_oauth_token", "method": "POST", "path": o["path"], "body": body, "public": true});
        return Some((
            route,
            o["host"].as_str()?.to_string(),
            json!({"bearer": {"token": token}}),
        ));
    }
    let s = auth.get("session")?;
    let mut body = Value::String(token.clone());
    for key in s["token_path"].as_array().into_iter().flatten().rev() {
        body = json!({ key.as_str().unwrap_or_default(): body });
    }
    let route = json!({"name": "_session_login", "method": s["method"], "path": s["path"], "body": body, "public": true});
    let inject = &s["inject"];
    let auth = if let Some(name) = inject["header"].as_str() {
        json!({"header": {"name": name, "value": token}})
    } else if let Some(name) = inject["query"].as_str() {
        json!({"query": {"name": name, "value": token}})
    } else {
        json!({"bearer": {"token": token}})
    };
    Some((route, s["host"].as_str()?.to_string(), auth))
}

/// A generated mock before it is written.
pub struct Mock {
    pub spec: Value,
    pub files: BTreeMap<String, Vec<Value>>,
    pub served: Vec<Value>,
    pub skipped: BTreeMap<String, String>,
    pub notes: BTreeMap<String, Vec<String>>,
}

struct Plan<'a> {
    s: &'a Value,
    name: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The mock of a plan (see the module's documentation).
pub fn build(plan: &Value, seed: u64) -> Mock {
    let plans: Vec<Plan> = plan["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some(Plan {
                s,
                name: s["name"].as_str()?.to_string(),
            })
        })
        .collect();
    let mut skipped = BTreeMap::new();
    let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, s) in plan["streams"].as_array().into_iter().flatten().enumerate() {
        if s["name"].as_str().is_none() {
            skipped.insert(
                format!("(stream {})", i + 1),
                "the manifest gives this stream no name".to_string(),
            );
        }
    }
    for p in &plans {
        let problems: Vec<String> = p.s["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let fatal: Vec<&String> = problems
            .iter()
            .filter(|m| !m.starts_with("authenticator ") && !m.starts_with("schema_loader "))
            .collect();
        if let Some(m) = fatal.first() {
            skipped.insert(p.name.clone(), (*m).clone());
        } else if p.s.get("schema").is_none_or(Value::is_null) {
            skipped.insert(
                p.name.clone(),
                "no inline schema to make records from".into(),
            );
        } else if p.s["records_path"].as_array().is_some_and(|a| a.len() > 1) {
            skipped.insert(
                p.name.clone(),
                format!(
                    "records at the path {} (the mock serves them at one key at most)",
                    p.s["records_path"]
                ),
            );
        }
        for m in problems.iter().filter(|m| m.starts_with("authenticator ")) {
            notes.entry(p.name.clone()).or_default().push(m.clone());
        }
    }
    // A child whose parent is skipped is skipped too (to a fixed point).
    loop {
        let before = skipped.len();
        for p in &plans {
            if let Some(parent) = p.s["parent"]["stream"].as_str() {
                if !skipped.contains_key(&p.name)
                    && (skipped.contains_key(parent) || !plans.iter().any(|q| q.name == parent))
                {
                    skipped.insert(
                        p.name.clone(),
                        format!("its parent stream \"{parent}\" is not served"),
                    );
                }
            }
        }
        if skipped.len() == before {
            break;
        }
    }

    // Fields that must be unique per stream: keys, cursor ids, parent keys.
    let mut unique: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &plans {
        let u = unique.entry(p.name.clone()).or_default();
        for k in p.s["primary_key"].as_array().into_iter().flatten() {
            let first = if k.is_array() {
                k[0].as_str()
            } else {
                k.as_str()
            };
            u.extend(first.map(String::from));
        }
        if let Some(f) = p.s["paginator"]["id_field"].as_str() {
            u.insert(f.into());
        }
        if let (Some(parent), Some(key)) = (
            p.s["parent"]["stream"].as_str(),
            p.s["parent"]["parent_key"].as_str(),
        ) {
            if !key.contains('.') && !key.contains('/') {
                unique
                    .entry(parent.to_string())
                    .or_default()
                    .insert(key.to_string());
            }
        }
    }

    let mut routes = Vec::new();
    let mut files = BTreeMap::new();
    let mut served = Vec::new();
    let mut hosts = BTreeSet::new();
    let mut auth: Option<Value> = None;
    let mut new_records = Vec::new();
    let mut parent_values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Parents first: a child's route lists its parents' ids.
    let mut order: Vec<&Plan> = Vec::new();
    while order.len() < plans.len() {
        let before = order.len();
        for p in &plans {
            let parent_done = p.s["parent"]["stream"].as_str().is_none_or(|parent| {
                order.iter().any(|q| q.name == parent) || !plans.iter().any(|q| q.name == parent)
            });
            if parent_done && !order.iter().any(|q| q.name == p.name) {
                order.push(p);
            }
        }
        if order.len() == before {
            break;
        }
    }
    for p in order {
        if skipped.contains_key(&p.name) {
            continue;
        }
        let s = p.s;
        let pag = &s["paginator"];
        let kind = pag["kind"].as_str().unwrap_or("none");
        let size = pag["page_size"]
            .as_u64()
            .map_or(DEFAULT_PAGE, |n| n as usize)
            .max(1);
        let n = if kind == "none" {
            3
        } else {
            size + size / 2 + 1
        };
        let cursor = s["cursor"].as_object().and_then(|c| {
            Some((
                text(&c["field"])?,
                c["record_format"]
                    .as_str()
                    .or(c["format"].as_str())?
                    .to_string(),
            ))
        });
        let shape = Shape {
            stream: &p.name,
            seed,
            unique: unique.get(&p.name).into_iter().flatten().cloned().collect(),
            cursor: cursor.clone(),
            slots: n + 2,
        };
        let schema = &s["schema"];
        let reads: Vec<Vec<String>> = s["record_reads"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.as_array().map(|k| {
                    k.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
            })
            .collect();
        // A cursor copied by a transformation from another field: that
        // field carries the instant.
        let cursor_source: Option<Vec<String>> = cursor.as_ref().and_then(|(field, _)| {
            s["added_from"][field.as_str()].as_array().map(|p| {
                p.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
        });
        let record = |i: usize| {
            let mut r = shape.record(schema, i);
            for path in &reads {
                ensure_path(&mut r, path, i);
            }
            if let (Some(path), Some((field, _))) = (&cursor_source, &cursor) {
                let v = r[field.as_str()].clone();
                set_path(&mut r, path, v);
            }
            r
        };
        let data: Vec<Value> = (0..n).map(record).collect();
        let records_key = s["records_path"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(String::from);
        let size_param = pag["size_param"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| "mock_page_size".into());
        let token_param = pag["token_param"].as_str().unwrap_or("page").to_string();
        let mut route = Map::new();
        route.insert("name".into(), json!(p.name));
        route.insert(
            "method".into(),
            json!(s["method"].as_str().unwrap_or("GET")),
        );
        route.insert("path".into(), json!(s["path"].as_str().unwrap_or("/")));
        route.insert("data".into(), json!(format!("{}.json", p.name)));
        let mut keyed_inside = false;
        let pagination = match kind {
            "none" => None,
            "page" => Some(
                json!({"style": "page", "page_param": token_param, "first_page": pag["first_page"].as_u64().unwrap_or(0), "size_param": size_param, "default_size": size}),
            ),
            "link" => Some(
                json!({"style": "page", "page_param": "page", "size_param": size_param, "default_size": size, "link": true}),
            ),
            "offset" => Some(
                json!({"style": "offset", "offset_param": token_param, "size_param": size_param, "default_size": size}),
            ),
            "link_cursor" => Some(
                json!({"style": "link_cursor", "cursor_param": token_param, "size_param": size_param, "default_size": size}),
            ),
            "cursor" | "token" => {
                let Some(key) = records_key.clone() else {
                    skipped.insert(p.name.clone(), format!("{kind} pagination over a bare array (the mock's {kind} pages are objects)"));
                    continue;
                };
                keyed_inside = true;
                Some(if kind == "cursor" {
                    json!({"style": "cursor", "cursor_param": token_param, "id_field": pag["id_field"], "size_param": size_param, "default_size": size, "records_key": key})
                } else {
                    json!({"style": "token", "token_param": token_param, "token_path": pag["token_path"], "records_key": key, "size_param": size_param, "default_size": size, "url": pag["url"].as_bool().unwrap_or(false)})
                })
            }
            other => {
                skipped.insert(
                    p.name.clone(),
                    format!("pagination {other:?} is not one the mock serves"),
                );
                continue;
            }
        };
        // (PageIncrement's start_from_page defaults to 0: plan.py says so.)
        if let Some(p) = pagination {
            route.insert("pagination".into(), p);
        }
        if !keyed_inside {
            if let Some(k) = &records_key {
                route.insert("records_key".into(), json!(k));
            }
        }
        if let Some(c) = s["cursor"].as_object() {
            match (text(&c["field"]), c["start_param"].as_str()) {
                (Some(field), Some(param)) => {
                    let mut f = json!({"param": param, "field": field});
                    if let Some(until) = c["end_param"].as_str() {
                        f["until_param"] = json!(until);
                    }
                    route.insert("filter".into(), f);
                }
                (Some(field), None) if c.get("query_param").is_some_and(Value::is_string) => {
                    // The cursor inside a templated parameter (Sentry's
                    // `query=lastSeen:>{{ stream_interval.start_time }}`).
                    let mut f = json!({"param": c["query_param"], "field": field});
                    if let Some(prefix) = c
                        .get("query_prefix")
                        .and_then(Value::as_str)
                        .filter(|p| !p.is_empty())
                    {
                        f["prefix"] = json!(prefix);
                    }
                    route.insert("filter".into(), f);
                }
                _ => notes.entry(p.name.clone()).or_default().push(
                    "the cursor is not sent as a query parameter: the mock does not filter, a resume reads everything again".into(),
                ),
            }
            let more: Vec<Value> = (n..n + 2).map(record).collect();
            files.insert(format!("{}.new.json", p.name), more);
            new_records.push(json!({"route": p.name, "add_data": format!("{}.new.json", p.name)}));
        }
        if let Some(parent) = s["parent"].as_object() {
            let field = parent["partition_field"].as_str().unwrap_or_default();
            let values = parent_values
                .get(parent["stream"].as_str().unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            let parent_name = parent["stream"].as_str().unwrap_or_default();
            let key = parent["parent_key"].as_str().unwrap_or_default();
            let computed = plans.iter().any(|q| {
                q.name == parent_name
                    && q.s["added_fields"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|f| f == key))
            });
            if computed {
                notes.entry(p.name.clone()).or_default().push(format!(
                    "its parent's \"{key}\" is computed by the parent's transformations: the route accepts any id"
                ));
            } else if s["path"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("{{{field}}}"))
            {
                route.insert("path_values".into(), json!({ field: values }));
            }
            // One parent's children span pages; the others' are one record.
            let in_path = s["path"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("{{{field}}}"));
            let by = if in_path {
                Some(field.to_string())
            } else {
                parent["param"].as_str().map(String::from)
            };
            if let (Some(param), Some(first), false) = (by, values.first(), computed) {
                route.insert(
                    "sample".into(),
                    json!({"param": param, "full": [first], "records": 1}),
                );
            }
        }
        // The values children of this stream take from its records.
        for q in &plans {
            if q.s["parent"]["stream"].as_str() == Some(p.name.as_str()) {
                let key = q.s["parent"]["parent_key"].as_str().unwrap_or("id");
                let pointer = format!("/{}", key.replace('.', "/"));
                // Its records and those the `new_records` scenario adds.
                let later = files.get(&format!("{}.new.json", p.name));
                let vals: Vec<String> = data
                    .iter()
                    .chain(later.into_iter().flatten())
                    .filter_map(|r| r.pointer(&pointer).and_then(text))
                    .collect();
                parent_values.insert(p.name.clone(), vals);
            }
        }
        if let Some(h) = s["host"].as_str() {
            hosts.insert(h.to_string());
        }
        let stream_auth = s["auth"].clone();
        let stream_auth = if stream_auth.is_null() {
            let q = s["secret_query"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_str);
            match q {
                Some(name) => json!({"query": {"name": name, "value": s["query"][name]}}),
                None => match s["secret_headers"]
                    .as_object()
                    .and_then(|h| h.iter().next())
                {
                    Some((name, value)) => json!({"header": {"name": name, "value": value}}),
                    None => Value::Null,
                },
            }
        } else {
            stream_auth
        };
        let stream_auth = match credential_route(&stream_auth, seed) {
            Some((route, host, auth)) => {
                if !routes
                    .iter()
                    .any(|(r, _): &(Value, Value)| r["name"] == route["name"])
                {
                    routes.push((route, json!({})));
                }
                hosts.insert(host);
                auth
            }
            None => stream_auth,
        };
        if !stream_auth.is_null() {
            match &auth {
                None => auth = Some(stream_auth),
                Some(a) if *a != stream_auth => notes.entry(p.name.clone()).or_default().push(
                    "its credential differs from the first stream's: the mock requires the first"
                        .into(),
                ),
                _ => {}
            }
        }
        served.push(json!({"name": p.name, "records": n, "pagination": kind, "page_size": size, "incremental": !s["cursor"].is_null(), "parent": s["parent"]["stream"]}));
        routes.push((Value::Object(route), s["query"].clone()));
        files.insert(format!("{}.json", p.name), data);
    }

    // Routes on one path are told apart by the fixed parameters that differ.
    let mut final_routes = Vec::new();
    for (i, (route, query)) in routes.iter().enumerate() {
        let mut route = route.clone();
        let same: Vec<&Value> = routes
            .iter()
            .enumerate()
            .filter(|(j, (r, _))| {
                *j != i && r["path"] == route["path"] && r["method"] == route["method"]
            })
            .map(|(_, (_, q))| q)
            .collect();
        if !same.is_empty() {
            let mut tell = Map::new();
            for (k, v) in query.as_object().into_iter().flatten() {
                if same.iter().any(|q| q[k] != *v) {
                    tell.insert(k.clone(), v.clone());
                }
            }
            if tell.is_empty() {
                let name = route["name"].as_str().unwrap_or_default().to_string();
                skipped.insert(
                    name.clone(),
                    "its request is the same as another stream's: the mock cannot tell them apart"
                        .into(),
                );
                served.retain(|s| s["name"] != json!(name));
                continue;
            }
            route["query"] = Value::Object(tell);
        }
        final_routes.push(route);
    }
    let names: Vec<Value> = served.iter().map(|s| s["name"].clone()).collect();
    let mut scenarios = Map::new();
    if let Some(first) = names.first() {
        scenarios.insert(
            "rate_limited".into(),
            json!([{"route": first, "status": 429, "times": 1, "retry_after": 1}]),
        );
        scenarios.insert(
            format!("{}_down", first.as_str().unwrap_or_default()),
            json!([{"route": first, "status": 500, "after": 1}]),
        );
    }
    if !new_records.is_empty() {
        scenarios.insert("new_records".into(), Value::Array(new_records));
    }
    let mut spec = json!({
        "streams": names,
        "hosts": hosts,
        "unauthorized": {"message": "mock: the credential is not the one in tests/mock/config.json"},
        "routes": final_routes,
        "scenarios": scenarios,
    });
    if let Some(a) = auth {
        spec["auth"] = a;
    }
    Mock {
        spec,
        files,
        served,
        skipped,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Value {
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"}}});
        json!({"streams": [
            {"name": "incidents", "problems": [], "host": "api.example.com", "path": "/incidents",
             "method": "GET", "query": {}, "records_path": ["incidents"], "schema": schema,
             "primary_key": [["id"]], "auth": {"bearer": {"token": "t0k3n-secret"}},
             "paginator": {"kind": "page", "page_size": 4, "token_param": "page", "size_param": "per_page", "first_page": 1},
             "cursor": {"field": "updated_at", "format": "%Y-%m-%dT%H:%M:%SZ", "record_format": "%Y-%m-%dT%H:%M:%SZ",
                        "start_param": "since", "end_param": null}},
            {"name": "logs", "problems": [], "host": "api.example.com", "path": "/incidents/{incident_id}/logs",
             "method": "GET", "query": {}, "records_path": [], "schema": schema, "primary_key": [],
             "auth": {"bearer": {"token": "t0k3n-secret"}}, "paginator": {"kind": "none"},
             "parent": {"stream": "incidents", "parent_key": "id", "partition_field": "incident_id", "param": null}},
            {"name": "custom", "problems": ["record extractor CustomRecordExtractor is custom code the generator cannot read"]}
        ]})
    }

    #[test]
    fn a_plan_becomes_routes_records_and_scenarios() {
        let mock = build(&plan(), 1);
        let routes = mock.spec["routes"].as_array().unwrap();
        assert_eq!(mock.spec["streams"], json!(["incidents", "logs"]));
        assert_eq!(
            mock.skipped["custom"],
            "record extractor CustomRecordExtractor is custom code the generator cannot read"
        );
        assert_eq!(
            mock.spec["auth"],
            json!({"bearer": {"token": "t0k3n-secret"}})
        );
        let incidents = &routes[0];
        assert_eq!(incidents["pagination"]["style"], "page");
        assert_eq!(
            incidents["filter"],
            json!({"param": "since", "field": "updated_at"})
        );
        // Two pages of 4: 4 + 2 + 1 records.
        let records = &mock.files["incidents.json"];
        assert_eq!(records.len(), 7);
        let ids: BTreeSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 7, "unique ids");
        // The child accepts every parent id, the later ones too.
        let later = &mock.files["incidents.new.json"];
        let accepted = routes[1]["path_values"]["incident_id"].as_array().unwrap();
        assert_eq!(accepted.len(), 9);
        assert!(accepted.contains(&later[1]["id"]));
        assert_eq!(routes[1]["sample"]["full"], json!([records[0]["id"]]));
        assert!(
            later[0]["updated_at"].as_str() > records[6]["updated_at"].as_str(),
            "later records are newer"
        );
        assert_eq!(
            mock.spec["scenarios"]["new_records"][0]["route"],
            "incidents"
        );
        assert_eq!(mock.spec["scenarios"]["rate_limited"][0]["status"], 429);
    }

    #[test]
    fn the_same_seed_writes_the_same_mock() {
        let a = build(&plan(), 7);
        let b = build(&plan(), 7);
        let c = build(&plan(), 8);
        assert_eq!(a.spec, b.spec);
        assert_eq!(a.files, b.files);
        assert_ne!(a.files, c.files);
    }
}
