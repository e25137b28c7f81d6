//! Schemas the fuzz targets normalize with (the first input byte picks one):
//! every kind of location the plan follows, and a real discovered schema.

use serde_json::{json, Value};

pub fn schemas() -> Vec<Value> {
    vec![
        json!({"type": "object", "properties": {
            "created_at": {"type": ["null", "string"], "format": "date-time"},
            "updated_at": {"type": ["null", "string", "integer"], "format": "date-time"},
            "id": {"type": "integer"}
        }}),
        json!({"type": "object", "properties": {
            "events": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
                "created_at": {"type": ["null", "string"], "format": "date-time"},
                "value": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}, {"type": "object", "properties": {"at": {"format": "date-time"}}}]}
            }}},
            "via": {"type": "object", "properties": {"source": {"type": "object", "properties": {"from": {"type": "object", "additionalProperties": {"format": "date-time"}}}}}},
            "tuple": {"prefixItems": [{"type": "string"}, {"format": "date-time"}], "items": {"type": "integer", "format": "date-time"}}
        }}),
        json!({"$defs": {"node": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
               "$ref": "#/$defs/node",
               "patternProperties": {"^x": {"format": "date-time"}, "_at$": {"type": ["integer", "string"], "format": "date-time"}},
               "additionalProperties": {"oneOf": [{"type": "array", "items": {"format": "date-time"}}, {"type": "integer"}]}}),
        json!({"additionalProperties": {"format": "date-time"}}),
    ]
}
