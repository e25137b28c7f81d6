//! Schema sanitizing: the parts of Airbyte JSON schemas that Flow rejects or
//! misreads, fixed before a schema leaves the connector.
//!
//! Every function walks every *subschema position* of a schema (`properties`,
//! `patternProperties`, `additionalProperties`, `items` in object and tuple
//! form, `prefixItems`, `additionalItems`, `contains`, `anyOf`/`oneOf`/`allOf`,
//! `not`, `if`/`then`/`else`, `$defs`/`definitions`, `dependentSchemas`,
//! `propertyNames`, `unevaluated*`), so a property *named* like a keyword
//! (`"name"`, `"enum"`) is never mistaken for one. Boolean schemas and
//! non-object values are left alone. Schemas without `type` are fine.
//!
//! What is fixed (the reference adapter does the same unless noted):
//! - Airbyte-only keywords are removed: `airbyte_type` (and the hyphenated
//!   `airbyte-type` one mailchimp schema uses), `airbyte_hidden`, `always_show`,
//!   `group`, `groups`, `pattern_descriptor`, `name`, `xml`.
//! - `airbyte_secret: true` becomes Flow's `secret: true` in config schemas;
//!   document schemas just lose the keyword.
//! - `format`: `int32`/`int64` become Flow's `integer` format (a no-op on
//!   integer-typed values, meaningful on numeric strings); any format Flow's
//!   validator does not know is dropped, and so are `idn-email` and
//!   `idn-hostname`, which Flow parses but always fails (an addition to the
//!   reference, which would keep them and reject every value).
//! - Document schemas only: `enum` is removed (enums from SaaS APIs grow over
//!   time and would break captures); a schema left without `type` gets the
//!   JSON types of the enum values instead. Config schemas keep their enums.
//! - [`date_to_datetime`]: the `date-to-datetime` schema normalization.
//! - [`require_keys`]: key locations made required and non-null.

use serde_json::{Map, Value};

use crate::pointer::Pointer;

/// Formats Flow's schema validator knows and can pass (its `Format` enum,
/// without the always-failing `idn-*` ones).
pub const FLOW_FORMATS: &[&str] = &[
    "date",
    "date-time",
    "datetime",
    "time",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "macaddr",
    "macaddr8",
    "uuid",
    "duration",
    "iri",
    "uri",
    "uri-reference",
    "iri-reference",
    "uri-template",
    "json-pointer",
    "regex",
    "relative-json-pointer",
    "integer",
    "uint32",
    "uint64",
    "number",
    "sha256",
];

/// Airbyte-only keywords removed from every schema object.
pub const NON_STANDARD_KEYWORDS: &[&str] = &[
    "airbyte_type",
    "airbyte-type",
    "airbyte_hidden",
    "always_show",
    "group",
    "groups",
    "pattern_descriptor",
    "name",
    "xml",
];

/// Keywords whose value is a map of name -> subschema.
const MAP_OF_SCHEMAS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keywords whose value is one subschema.
const ONE_SCHEMA: &[&str] = &[
    "additionalProperties",
    "items",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords whose value is an array of subschemas.
const LIST_OF_SCHEMAS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems", "items"];

/// Calls `f` on every schema object of `schema`, parents before children.
pub fn for_each_schema(schema: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Value::Object(map) = schema else {
        return;
    };
    f(map);
    for kw in MAP_OF_SCHEMAS {
        if let Some(Value::Object(children)) = map.get_mut(*kw) {
            for child in children.values_mut() {
                for_each_schema(child, f);
            }
        }
    }
    for kw in ONE_SCHEMA {
        if let Some(child @ Value::Object(_)) = map.get_mut(*kw) {
            for_each_schema(child, f);
        }
    }
    for kw in LIST_OF_SCHEMAS {
        if let Some(Value::Array(children)) = map.get_mut(*kw) {
            for child in children {
                for_each_schema(child, f);
            }
        }
    }
}

fn fix_keywords(map: &mut Map<String, Value>, config: bool) {
    for kw in NON_STANDARD_KEYWORDS {
        map.remove(*kw);
    }
    if let Some(secret) = map.remove("airbyte_secret") {
        if config && secret == Value::Bool(true) {
            map.insert("secret".to_string(), Value::Bool(true));
        }
    }
    if let Some(Value::String(format)) = map.get("format") {
        if format == "int32" || format == "int64" {
            map.insert("format".to_string(), Value::String("integer".to_string()));
        } else if !FLOW_FORMATS.contains(&format.as_str()) {
            map.remove("format");
        }
    } else if map.get("format").is_some_and(|f| !f.is_string()) {
        // `format` is only meaningful as a string; anything else would not
        // build in Flow.
        map.remove("format");
    }
}

/// Sanitizes a connector's config schema (`connectionSpecification`): Airbyte
/// keywords removed, `airbyte_secret` turned into `secret`, formats fixed.
/// Enums are kept: they drive the config form.
pub fn sanitize_config_schema(schema: &mut Value) {
    for_each_schema(schema, &mut |map| fix_keywords(map, true));
}

/// Sanitizes a stream's document schema: Airbyte keywords removed, formats
/// fixed, enums replaced by their types.
pub fn sanitize_document_schema(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        fix_keywords(map, false);
        remove_enum(map);
    });
}

fn remove_enum(map: &mut Map<String, Value>) {
    let Some(values) = map.remove("enum") else {
        return;
    };
    if map.contains_key("type") {
        return;
    }
    let Value::Array(values) = values else {
        return;
    };
    let types: std::collections::BTreeSet<&str> = values.iter().map(json_type).collect();
    let ty = match types.len() {
        0 => return,
        1 => Value::String(types.into_iter().next().unwrap_or_default().to_string()),
        _ => Value::Array(
            types
                .into_iter()
                .map(|t| Value::String(t.to_string()))
                .collect(),
        ),
    };
    map.insert("type".to_string(), ty);
}

/// The JSON schema type name of a value (`integer` for whole numbers).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The `date-to-datetime` schema normalization: every `format: date` becomes
/// `format: date-time` (captured values are then normalized to RFC 3339 by the
/// runtime, a date becoming midnight UTC).
pub fn date_to_datetime(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        if map.get("format").and_then(Value::as_str) == Some("date") {
            map.insert("format".to_string(), Value::String("date-time".to_string()));
        }
    });
}

/// Makes every key location of `schema` required and non-null: for each
/// pointer of `key` (JSON pointers such as `/id` or `/meta/id`), each token is
/// added to the `required` of the object schema holding it, `"null"` is removed
/// from the `type` of that object schema and of the property's own schema
/// (a single remaining type becomes a plain string, as connectors expect of key
/// types), recursively along nested paths.
///
/// A local `$ref` (`#/$defs/x`, `#/definitions/x`, or a bare `$defs` name as in
/// the reference) is followed. A level that is an `allOf`/`anyOf`/`oneOf`/`not`
/// combination without its own `properties` entry for the token is left as it
/// is (the reference skips those too). A property missing from `properties` is
/// added as `{}` so the key is still required.
pub fn require_keys(schema: &mut Value, key: &[String]) {
    for pointer in key {
        let Ok(pointer) = Pointer::parse(pointer) else {
            continue;
        };
        let tokens = pointer.into_tokens();
        if tokens.is_empty() {
            continue;
        }
        // Path (as pointer tokens into `schema`) of the current object schema.
        let mut at: Vec<String> = Vec::new();
        for token in &tokens {
            let Some(obj_path) = resolve_ref(schema, &at) else {
                break;
            };
            let Some(Value::Object(parent)) = get_mut(schema, &obj_path) else {
                break;
            };
            let has_prop = parent
                .get("properties")
                .and_then(|p| p.get(token.as_str()))
                .is_some();
            if !has_prop
                && ["allOf", "anyOf", "oneOf", "not"]
                    .iter()
                    .any(|k| parent.contains_key(*k))
            {
                break;
            }
            let required = parent
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(required) = required {
                if !required.iter().any(|r| r.as_str() == Some(token)) {
                    required.push(Value::String(token.clone()));
                }
            }
            if let Some(ty) = parent.get_mut("type") {
                remove_null(ty, false);
            }
            let props = parent
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(props) = props else {
                break;
            };
            let prop = props
                .entry(token.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(prop) = prop {
                if let Some(ty) = prop.get_mut("type") {
                    remove_null(ty, true);
                }
            }
            at = obj_path;
            at.push("properties".to_string());
            at.push(token.clone());
        }
    }
}

fn remove_null(ty: &mut Value, collapse: bool) {
    if let Value::Array(types) = ty {
        types.retain(|t| t.as_str() != Some("null"));
        if collapse && types.len() == 1 {
            *ty = types.remove(0);
        }
    }
}

fn get_mut<'a>(schema: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = schema;
    for t in path {
        cur = cur.as_object_mut()?.get_mut(t)?;
    }
    Some(cur)
}

/// Follows local `$ref`s from the schema at `path`, returning the path of the
/// schema that holds properties. Gives up after a few hops (cycles).
fn resolve_ref(schema: &mut Value, path: &[String]) -> Option<Vec<String>> {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let node = get_mut(schema, &path)?;
        let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
            return Some(path);
        };
        if node.get("properties").is_some() {
            return Some(path);
        }
        path = ref_path(reference)?;
        // Make sure it exists.
        get_mut(schema, &path)?;
    }
    None
}

/// The pointer tokens of a local `$ref` (`#/$defs/x`, `#/definitions/x`, or a
/// bare name resolved in `$defs`).
pub fn ref_path(reference: &str) -> Option<Vec<String>> {
    if let Some(ptr) = reference.strip_prefix('#') {
        Pointer::parse(ptr).ok().map(Pointer::into_tokens)
    } else if !reference.contains(['/', ':', '#']) {
        Some(vec!["$defs".to_string(), reference.to_string()])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_airbyte_keywords_everywhere_but_not_property_names() {
        let mut s = json!({
            "type": ["null", "object"],
            "properties": {
                "name": {"type": "string", "airbyte_type": "x", "name": "n"},
                "xml": {"type": "string"},
                "list": {"type": "array", "items": {"type": "object", "properties": {
                    "t": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
                }}},
                "tuple": {"type": "array", "items": [{"type": "string", "airbyte-type": "big"}]},
                "u": {"anyOf": [{"type": "string", "airbyte_type": "a"}, {"$ref": "#/$defs/d"}]}
            },
            "$defs": {"d": {"type": "integer", "airbyte_hidden": true, "format": "int64"}},
            "definitions": {"e": {"type": "string", "group": "g", "always_show": true}}
        });
        sanitize_document_schema(&mut s);
        assert_eq!(
            s,
            json!({
                "type": ["null", "object"],
                "properties": {
                    "name": {"type": "string"},
                    "xml": {"type": "string"},
                    "list": {"type": "array", "items": {"type": "object", "properties": {
                        "t": {"type": "string", "format": "date-time"}
                    }}},
                    "tuple": {"type": "array", "items": [{"type": "string"}]},
                    "u": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/d"}]}
                },
                "$defs": {"d": {"type": "integer", "format": "integer"}},
                "definitions": {"e": {"type": "string"}}
            })
        );
    }

    #[test]
    fn drops_unknown_formats_and_keeps_known_ones() {
        let mut s = json!({"properties": {
            "a": {"type": "string", "format": "date-time"},
            "b": {"type": "string", "format": "date"},
            "c": {"type": "string", "format": "byte"},
            "d": {"type": "string", "format": "idn-email"},
            "e": {"type": "integer", "format": "int32"},
            "f": {"type": "string", "format": "uri"},
            "g": {"type": "string", "format": 7},
        }});
        sanitize_document_schema(&mut s);
        assert_eq!(
            s,
            json!({"properties": {
                "a": {"type": "string", "format": "date-time"},
                "b": {"type": "string", "format": "date"},
                "c": {"type": "string"},
                "d": {"type": "string"},
                "e": {"type": "integer", "format": "integer"},
                "f": {"type": "string", "format": "uri"},
                "g": {"type": "string"},
            }})
        );
    }

    #[test]
    fn enums_become_types() {
        let mut s = json!({"properties": {
            "typed": {"type": ["null", "string"], "enum": ["a", "b", null]},
            "untyped": {"enum": ["a", "b"]},
            "mixed": {"enum": [1, "a", null, 1.5]},
            "empty": {"enum": []},
            "enum": {"type": "string"},
            "nested": {"oneOf": [{"enum": [true]}]}
        }});
        sanitize_document_schema(&mut s);
        assert_eq!(
            s,
            json!({"properties": {
                "typed": {"type": ["null", "string"]},
                "untyped": {"type": "string"},
                "mixed": {"type": ["integer", "null", "number", "string"]},
                "empty": {},
                "enum": {"type": "string"},
                "nested": {"oneOf": [{"type": "boolean"}]}
            }})
        );
    }

    #[test]
    fn config_schemas_keep_enums_and_mark_secrets() {
        let mut s = json!({"type": "object", "properties": {
            "api_key": {"type": "string", "airbyte_secret": true, "order": 0},
            "public": {"type": "string", "airbyte_secret": false},
            "region": {"type": "string", "enum": ["us", "eu"], "airbyte_hidden": true},
            "auth": {"oneOf": [{"properties": {"token": {"type": "string", "airbyte_secret": true}}}]}
        }});
        sanitize_config_schema(&mut s);
        assert_eq!(
            s,
            json!({"type": "object", "properties": {
                "api_key": {"type": "string", "order": 0, "secret": true},
                "public": {"type": "string"},
                "region": {"type": "string", "enum": ["us", "eu"]},
                "auth": {"oneOf": [{"properties": {"token": {"type": "string", "secret": true}}}]}
            }})
        );
    }

    #[test]
    fn boolean_and_odd_schemas_are_left_alone() {
        let mut s = json!({"properties": {"a": true, "b": false}, "items": [true], "additionalProperties": false});
        let before = s.clone();
        sanitize_document_schema(&mut s);
        assert_eq!(s, before);
        let mut t = json!(true);
        sanitize_document_schema(&mut t);
        assert_eq!(t, json!(true));
    }

    #[test]
    fn widens_dates() {
        let mut s = json!({"properties": {
            "d": {"type": ["null", "string"], "format": "date"},
            "a": {"items": {"format": "date"}},
            "t": {"format": "time"}
        }});
        date_to_datetime(&mut s);
        assert_eq!(
            s,
            json!({"properties": {
                "d": {"type": ["null", "string"], "format": "date-time"},
                "a": {"items": {"format": "date-time"}},
                "t": {"format": "time"}
            }})
        );
    }

    #[test]
    fn keys_become_required_and_non_null() {
        let mut s = json!({
            "type": ["null", "object"],
            "properties": {
                "id": {"type": ["null", "integer"]},
                "meta": {"type": ["object", "null"], "properties": {"k": {"type": ["string", "null", "integer"]}}},
            },
            "required": ["other"]
        });
        require_keys(&mut s, &["/id".to_string(), "/meta/k".to_string()]);
        assert_eq!(
            s,
            json!({
                "type": ["object"],
                "properties": {
                    "id": {"type": "integer"},
                    "meta": {"type": "object", "properties": {"k": {"type": ["string", "integer"]}}, "required": ["k"]},
                },
                "required": ["other", "id", "meta"]
            })
        );
    }

    #[test]
    fn keys_follow_refs_escape_and_create_missing_properties() {
        let mut s = json!({
            "$defs": {"t": {"properties": {"a/b": {"type": ["string", "null"]}}}},
            "$ref": "#/$defs/t"
        });
        require_keys(&mut s, &["/a~1b".to_string(), "/missing".to_string()]);
        assert_eq!(
            s,
            json!({
                "$defs": {"t": {
                    "properties": {"a/b": {"type": "string"}, "missing": {}},
                    "required": ["a/b", "missing"]
                }},
                "$ref": "#/$defs/t"
            })
        );
        let mut combo = json!({"allOf": [{"properties": {"id": {"type": ["null", "string"]}}}]});
        let before = combo.clone();
        require_keys(&mut combo, &["/id".to_string()]);
        assert_eq!(combo, before);
    }
}
