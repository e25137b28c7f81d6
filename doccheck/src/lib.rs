//! Checking captured documents against their bindings' document schemas, and
//! proposing the `streams/<stream>.patch.json` that makes each schema accept
//! every observed document.
//!
//! A violation is keyed by its schema location (the JSON Schema keyword
//! location, e.g. `/properties/age/type`). Its fix is a merge patch at that
//! location: `type` becomes the types of every value observed at the matching
//! document paths, `required` keeps only the properties every observed object
//! has, any other keyword (`format`, `enum`, `maximum`, ...) is removed. Only
//! locations reached through `properties`, `items` and `additionalProperties`
//! can be expressed as an RFC 7396 merge patch; others are reported for a fix
//! by hand.

use anyhow::Context;
use patches::pointer::Pointer;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One binding being checked.
pub struct Binding {
    /// The binding's recommended name (collection name without prefix).
    pub name: String,
    /// The Airbyte stream name (`resourceConfig.stream`): names the patch file.
    pub stream: String,
    schema: Value,
    validator: jsonschema::Validator,
    pub documents: u64,
    pub invalid_documents: u64,
    violations: BTreeMap<String, Violation>,
}

struct Violation {
    keyword: String,
    /// Schema location of the keyword's schema object (keyword removed).
    location: Option<Vec<Step>>,
    schema_path: String,
    count: u64,
    /// Document paths with array indices as `*`.
    fields: BTreeSet<String>,
    example_path: String,
    example: Value,
    message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Property(String),
    Items,
    AdditionalProperties,
}

/// A proposed patch file for one stream.
pub struct Proposal {
    pub stream: String,
    pub file: PathBuf,
    pub content: Value,
    /// Violations with no automatic patch (schema paths).
    pub by_hand: Vec<String>,
}

impl Binding {
    pub fn new(name: String, stream: String, schema: Value) -> anyhow::Result<Self> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| {
                anyhow::anyhow!(
                    "the document schema of binding \"{name}\" does not compile ({} at \"{}\"): fix streams/{stream}.patch.json",
                    e,
                    e.schema_path().as_str()
                )
            })?;
        Ok(Binding {
            name,
            stream,
            schema,
            validator,
            documents: 0,
            invalid_documents: 0,
            violations: BTreeMap::new(),
        })
    }

    /// Checks one document; returns whether it is valid.
    pub fn check(&mut self, doc: &Value) -> bool {
        self.documents += 1;
        let mut valid = true;
        for err in self.validator.iter_errors(doc) {
            valid = false;
            let schema_path = err.schema_path().as_str().to_string();
            let instance_path = err.instance_path().as_str().to_string();
            let v = self
                .violations
                .entry(schema_path.clone())
                .or_insert_with(|| {
                    let mut steps = pointer_tokens(&schema_path);
                    let keyword = steps.pop().unwrap_or_default();
                    Violation {
                        keyword,
                        location: schema_location(&steps),
                        schema_path: schema_path.clone(),
                        count: 0,
                        fields: BTreeSet::new(),
                        example_path: instance_path.clone(),
                        example: err.instance().clone().into_owned(),
                        message: err.to_string(),
                    }
                });
            v.count += 1;
            if v.fields.len() < 10 {
                v.fields.insert(generalize(&instance_path));
            }
        }
        if !valid {
            self.invalid_documents += 1;
        }
        valid
    }

    pub fn has_violations(&self) -> bool {
        !self.violations.is_empty()
    }

    /// The report of this binding's violations (empty when there are none).
    pub fn report(&self) -> String {
        let mut out = String::new();
        if self.violations.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "stream \"{}\" (binding {}): {} of {} documents violate the document schema",
            self.stream, self.name, self.invalid_documents, self.documents
        );
        for v in self.violations.values() {
            let fields: Vec<&str> = v.fields.iter().map(String::as_str).collect();
            let fields = fields
                .iter()
                .map(|f| if f.is_empty() { "(document root)" } else { f })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "  field {fields}: breaks rule \"{}\" ({}) in {} document(s); example at \"{}\": {}: {}",
                v.keyword,
                v.schema_path,
                v.count,
                v.example_path,
                truncate(&v.example.to_string(), 200),
                v.message
            );
        }
        out
    }

    /// The patch file for this binding's stream that makes its schema accept
    /// every document in `docs` (this binding's documents), merged over the
    /// stream's current patch file in `connector_dir`.
    pub fn propose(
        &self,
        connector_dir: &Path,
        docs: &[Value],
    ) -> anyhow::Result<Option<Proposal>> {
        if self.violations.is_empty() {
            return Ok(None);
        }
        let own = connector_dir
            .join("streams")
            .join(format!("{}.patch.json", self.stream));
        let wildcard = connector_dir.join("streams/*.patch.json");
        let mut content = if own.exists() {
            read_json(&own)?
        } else if wildcard.exists() {
            // An own file replaces the wildcard for this stream: start from it.
            read_json(&wildcard)?
        } else {
            json!({})
        };
        let mut by_hand = Vec::new();
        for v in self.violations.values() {
            let Some(location) = &v.location else {
                by_hand.push(v.schema_path.clone());
                continue;
            };
            let fix = match v.keyword.as_str() {
                "type" => {
                    let mut types = BTreeSet::new();
                    for doc in docs {
                        values_at(doc, location, &mut |value| {
                            types.insert(patches::schema::json_type(value));
                        });
                    }
                    if types.contains("number") {
                        types.remove("integer");
                    }
                    let types: Vec<&str> = types.into_iter().collect();
                    match types.as_slice() {
                        [] => {
                            by_hand.push(v.schema_path.clone());
                            continue;
                        }
                        [one] => json!({ "type": one }),
                        many => json!({ "type": many }),
                    }
                }
                "required" => {
                    let current: Vec<String> = schema_at(&self.schema, location)
                        .and_then(|s| s.get("required"))
                        .and_then(Value::as_array)
                        .map(|r| {
                            r.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut keep: Vec<String> = current.clone();
                    for doc in docs {
                        values_at(doc, location, &mut |value| {
                            if let Some(obj) = value.as_object() {
                                keep.retain(|k| obj.contains_key(k));
                            }
                        });
                    }
                    json!({ "required": keep })
                }
                keyword => json!({ keyword: null }),
            };
            compose(&mut content, wrap(location, fix));
        }
        Ok(Some(Proposal {
            stream: self.stream.clone(),
            file: own,
            content,
            by_hand,
        }))
    }
}

/// Combines merge patch `b` into merge patch `a`: nulls are kept, since in a
/// patch file they remove a keyword from the schema.
fn compose(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => compose(existing, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (a, b) => *a = b,
    }
}

/// Unescaped tokens of a JSON pointer (none when it is not one).
fn pointer_tokens(ptr: &str) -> Vec<String> {
    Pointer::parse(ptr)
        .map(Pointer::into_tokens)
        .unwrap_or_default()
}

/// The schema location as steps a merge patch can follow, if it has one.
fn schema_location(tokens: &[String]) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut it = tokens.iter();
    while let Some(t) = it.next() {
        steps.push(match t.as_str() {
            "properties" => Step::Property(it.next()?.clone()),
            "items" => Step::Items,
            "additionalProperties" => Step::AdditionalProperties,
            _ => return None,
        });
    }
    Some(steps)
}

/// The merge patch setting `fix` at `location`.
fn wrap(location: &[Step], fix: Value) -> Value {
    location.iter().rev().fold(fix, |inner, step| match step {
        Step::Property(name) => json!({ "properties": { name.clone(): inner } }),
        Step::Items => json!({ "items": inner }),
        Step::AdditionalProperties => json!({ "additionalProperties": inner }),
    })
}

/// The sub-schema at `location`.
fn schema_at<'a>(schema: &'a Value, location: &[Step]) -> Option<&'a Value> {
    location.iter().try_fold(schema, |s, step| match step {
        Step::Property(name) => s.get("properties")?.get(name),
        Step::Items => s.get("items"),
        Step::AdditionalProperties => s.get("additionalProperties"),
    })
}

/// Calls `f` with every value of `doc` at the document paths matching `location`.
fn values_at(doc: &Value, location: &[Step], f: &mut dyn FnMut(&Value)) {
    match location.split_first() {
        None => f(doc),
        Some((Step::Property(name), rest)) => {
            if let Some(v) = doc.get(name) {
                values_at(v, rest, f)
            }
        }
        Some((Step::Items, rest)) => {
            for v in doc.as_array().into_iter().flatten() {
                values_at(v, rest, f)
            }
        }
        Some((Step::AdditionalProperties, rest)) => {
            for v in doc.as_object().into_iter().flat_map(Map::values) {
                values_at(v, rest, f)
            }
        }
    }
}

/// `/items/3/price` -> `/items/*/price`.
fn generalize(ptr: &str) -> String {
    ptr.split('/')
        .map(|t| {
            if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
                "*"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not valid JSON: fix its syntax and run again",
            path.display()
        )
    })
}

/// Reads the documents file written by `capture`, grouped by binding name.
pub fn read_documents(path: &Path) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut by_binding: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut line: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a JSON line", path.display(), i + 1))?;
        let binding = line["binding"].as_str().unwrap_or_default().to_string();
        by_binding
            .entry(binding)
            .or_default()
            .push(line["doc"].take());
    }
    Ok(by_binding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposes_observed_types_and_drops_other_keywords() {
        let schema = json!({
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "age": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "alt": {"anyOf": [{"type": "string"}]},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}]}
            }
        });
        let mut b = Binding::new("users".into(), "users".into(), schema).unwrap();
        let docs = vec![
            json!({"id": 1, "name": "x", "age": 39, "tags": [{"n": 1}], "kind": "c", "alt": 1, "pair": [1]}),
            json!({"id": 2, "age": 40.5, "tags": [{"n": "y"}, {"n": null}], "kind": "a", "alt": "s"}),
        ];
        for d in &docs {
            assert!(!b.check(d));
        }
        let report = b.report();
        assert!(
            report.contains("field /age: breaks rule \"type\" (/properties/age/type)"),
            "{report}"
        );
        assert!(report.contains("example at \"/age\": 39"), "{report}");
        assert!(report.contains("field /tags/*/n"), "{report}");
        let dir = tempfile::tempdir().unwrap();
        let p = b.propose(dir.path(), &docs).unwrap().unwrap();
        assert_eq!(
            p.content,
            json!({
                "required": ["id"],
                "properties": {
                    "age": {"type": "number"},
                    "tags": {"items": {"properties": {"n": {"type": ["integer", "null", "string"]}}}},
                    "kind": {"enum": null},
                    "alt": {"anyOf": null}
                }
            })
        );
        assert_eq!(p.by_hand, vec!["/properties/pair/prefixItems/0/type"]);
        // The patched schema accepts every document but the by-hand one.
        let mut patched = b.schema.clone();
        json_patch::merge(&mut patched, &p.content);
        patched["properties"]["pair"] = json!({});
        let mut again = Binding::new("users".into(), "users".into(), patched).unwrap();
        for d in &docs {
            assert!(again.check(d), "{}", again.report());
        }
    }

    #[test]
    fn proposal_starts_from_the_stream_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("streams")).unwrap();
        std::fs::write(
            dir.path().join("streams/users.patch.json"),
            r#"{"properties": {"age": {"type": "string"}, "email": {"format": "email"}}}"#,
        )
        .unwrap();
        let schema = json!({"properties": {"age": {"type": "string"}}});
        let mut b = Binding::new("users".into(), "users".into(), schema).unwrap();
        let docs = vec![json!({"age": 3})];
        b.check(&docs[0]);
        let p = b.propose(dir.path(), &docs).unwrap().unwrap();
        assert_eq!(
            p.content,
            json!({"properties": {"age": {"type": "integer"}, "email": {"format": "email"}}})
        );
        assert_eq!(p.file, dir.path().join("streams/users.patch.json"));
    }
}
