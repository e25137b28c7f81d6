//! The reference path: the plan applied to a fully parsed `serde_json::Value`.
//!
//! Simple on purpose: it is what the hot path ([`super::walk`]) is tested
//! against, value for value, and the fallback for the records the hot path
//! leaves to it. Automatic date-time normalization first, over the whole
//! document; then each declared normalization at its pointer (a pointer that
//! does not resolve is skipped).

use patches::Normalization;
use serde_json::Value;

use super::datetime::{datetime_to_date, normalize_datetime};
use super::plan::{Child, Declared, Node};

/// What the plan does to a scalar at one location: the automatic date-time
/// normalization (`node`), then the declared one (`declared`). `None` when
/// the value stays as it is. Shared by both paths, so they cannot differ on
/// a single value.
pub fn scalar(node: Option<&Node>, declared: Option<Normalization>, v: &Value) -> Option<Value> {
    let mut new = None;
    if let Some(n) = node {
        if n.datetime && !(n.numbers_allowed && v.is_number()) {
            new = normalize_datetime(v).map(Value::String);
        }
    }
    if let Some(Normalization::DatetimeToDate) = declared {
        let cur = new.as_ref().unwrap_or(v);
        if let Some(d) = cur.as_str().and_then(datetime_to_date) {
            new = Some(Value::String(d));
        }
    }
    new
}

/// Applies the automatic normalizations of `node` below and at `v`; true when
/// something changed.
pub fn apply_node(node: &Node, v: &mut Value) -> bool {
    let mut changed = false;
    if node.datetime && (v.is_string() || v.is_number()) {
        if let Some(new) = scalar(Some(node), None, v) {
            *v = new;
            changed = true;
        }
    }
    match v {
        Value::Object(map) if node.has_members() => {
            for (k, cv) in map.iter_mut() {
                changed |= match node.child(k) {
                    Child::None => false,
                    Child::One(n) => apply_node(n, cv),
                    Child::Merge(ns) => apply_node(&Node::merged(&ns), cv),
                };
            }
        }
        Value::Array(arr) if node.has_elements() => {
            for (i, cv) in arr.iter_mut().enumerate() {
                if let Some(n) = node.element(i) {
                    changed |= apply_node(n, cv);
                }
            }
        }
        _ => {}
    }
    changed
}

/// Applies the declared normalizations below and at `v`; true when something
/// changed.
pub fn apply_declared(d: &Declared, v: &mut Value) -> bool {
    let mut changed = false;
    if let Some(action) = d.action {
        if let Some(new) = scalar(None, Some(action), v) {
            *v = new;
            changed = true;
        }
    }
    if d.has_children() {
        match v {
            Value::Object(map) => {
                for (k, cv) in map.iter_mut() {
                    if let Some(c) = d.member(k) {
                        changed |= apply_declared(c, cv);
                    }
                }
            }
            Value::Array(arr) => {
                for (i, cv) in arr.iter_mut().enumerate() {
                    if let Some(c) = d.element(i) {
                        changed |= apply_declared(c, cv);
                    }
                }
            }
            _ => {}
        }
    }
    changed
}
