//! The plan of one binding: the document locations that may need a change,
//! built once from the binding's schema and declared normalizations.
//!
//! [`Node`] is a tree of the locations holding `format: date-time` values
//! (and the locations leading to them); [`Declared`] is a tree of the declared
//! normalizations' JSON pointers. Both are walked along a record, by the
//! reference path ([`super::reference`]) over a parsed `Value` and by the hot
//! path ([`super::walk`]) over the record's bytes: whatever one tree says at a
//! location, both paths do.
//!
//! Schema keywords followed: `properties`, `patternProperties` and
//! `additionalProperties` (every property neither listed nor matching a
//! pattern), `items` (every element, object form), tuple `items`/`prefixItems`
//! (by index), `anyOf`/`oneOf`/`allOf` and `if`/`then`/`else` branches, and
//! local `$ref`s (`#/...`, a bare `$defs` name), each ref expanded at most
//! twice along a path so recursive schemas end. Every schema that applies at
//! one location is merged into one node there: its values are date-times when
//! any of them says `format: date-time`, and numbers are left alone when any
//! of them allows `integer`/`number`. So a tuple element's node is merged with
//! `items`, a listed property's with the patterns its name matches. The one
//! merge that cannot be made ahead is a property that is not listed and
//! matches two or more patterns with date-times below them: [`Node::child`]
//! reports it, and the hot path leaves such a record to the reference path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use patches::{Normalization, Normalize};
use serde_json::Value;

/// Up to this many properties, a lookup scans them.
const SCAN_MAX: usize = 8;

/// FNV-1a: property names are short, and the map is built from the schema,
/// not from input (no flooding to fear); SipHash costs more than the scan it
/// replaces.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One document location with date-time values at or below it.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// Values here are date-times.
    pub datetime: bool,
    /// Some schema here allows `integer`/`number`: numbers are valid as they are.
    pub numbers_allowed: bool,
    /// Listed properties, in the order the schema first lists them.
    props: Vec<(Box<str>, Node)>,
    /// `props` by name, when there are more than [`SCAN_MAX`] (kept by
    /// [`Node::prop`], rebuilt by [`Node::build_index`]): a lookup costs one
    /// hash of the name, however large the schema.
    by_name: Option<HashMap<Box<str>, usize, BuildHasherDefault<Fnv>>>,
    patterns: Vec<Pattern>,
    other_props: Option<Box<Node>>,
    items: Option<Box<Node>>,
    /// Tuple elements by index (each already merged with `items`).
    tuple: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: Option<regex::Regex>,
    node: Node,
}

impl Pattern {
    /// A pattern the regex crate cannot compile matches nothing (JSON Schema
    /// patterns are ECMA 262; the common subset compiles).
    fn is_match(&self, name: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// Where the nodes of an object's member are.
pub enum Child<'a> {
    /// Nothing to do at or below it.
    None,
    One(&'a Node),
    /// Several patterns apply to a property that is not listed: the nodes
    /// must be merged for this name (the reference path does; the hot path
    /// falls back to it).
    Merge(Vec<&'a Node>),
}

impl Node {
    /// Builds the tree of one schema; `None` when it has no date-time
    /// location at all.
    pub fn new(schema: &Value) -> Option<Node> {
        let mut root = Node::default();
        root.build(schema, schema, &mut Vec::new());
        root.finish();
        if !root.prune() {
            return None;
        }
        root.build_index();
        Some(root)
    }

    /// (Re)builds `by_name` wherever there are more properties than a scan
    /// handles faster (after [`Node::prune`] moved them).
    fn build_index(&mut self) {
        self.by_name = None;
        if self.props.len() > SCAN_MAX {
            self.by_name = Some(self.props_by_name());
        }
        let children = self.props.iter_mut().map(|(_, n)| n);
        let children = children
            .chain(self.patterns.iter_mut().map(|p| &mut p.node))
            .chain(self.other_props.as_deref_mut())
            .chain(self.items.as_deref_mut())
            .chain(self.tuple.iter_mut());
        for n in children {
            n.build_index();
        }
    }

    fn props_by_name(&self) -> HashMap<Box<str>, usize, BuildHasherDefault<Fnv>> {
        self.props
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect()
    }

    fn is_empty(&self) -> bool {
        !self.datetime
            && self.other_props.is_none()
            && self.items.is_none()
            && self.tuple.is_empty()
            && self.patterns.is_empty()
            && self.props.iter().all(|(_, n)| n.is_empty())
    }

    /// The node of member `name` of an object at this location.
    pub fn child(&self, name: &str) -> Child<'_> {
        // A few properties (the usual plan, pruned to the date-times): compare
        // lengths first, then bytes; many: one hash (measured: the binary
        // search made the 10x schema of `cargo xtask bench` 1.3x slower).
        if let Some(i) = self.find(name) {
            return Child::One(&self.props[i].1);
        }
        if !self.patterns.is_empty() {
            let mut hits = self.patterns.iter().filter(|p| p.is_match(name));
            if let Some(first) = hits.next() {
                return match hits.next() {
                    None => Child::One(&first.node),
                    Some(second) => Child::Merge(
                        [&first.node, &second.node]
                            .into_iter()
                            .chain(hits.map(|p| &p.node))
                            .collect(),
                    ),
                };
            }
        }
        match &self.other_props {
            Some(n) => Child::One(n),
            None => Child::None,
        }
    }

    /// The index of listed property `name`. Always inlined: called from
    /// [`Node::child`] without it, the faker replay took 3% more
    /// instructions (callgrind, 525M vs 510M on 40k lines).
    #[inline(always)]
    fn find(&self, name: &str) -> Option<usize> {
        match &self.by_name {
            Some(map) => map.get(name).copied(),
            None => self
                .props
                .iter()
                .position(|(k, _)| k.len() == name.len() && k.as_bytes() == name.as_bytes()),
        }
    }

    /// The node of element `index` of an array at this location.
    pub fn element(&self, index: usize) -> Option<&Node> {
        self.tuple.get(index).or(self.items.as_deref())
    }

    /// Whether arrays here have work below them.
    pub fn has_elements(&self) -> bool {
        self.items.is_some() || !self.tuple.is_empty()
    }

    /// Whether objects here have work below them.
    pub fn has_members(&self) -> bool {
        !self.props.is_empty() || !self.patterns.is_empty() || self.other_props.is_some()
    }

    /// One node holding what all of `nodes` say.
    pub fn merged(nodes: &[&Node]) -> Node {
        let mut out = Node::default();
        for n in nodes {
            out.merge((*n).clone());
        }
        out
    }

    fn merge(&mut self, other: Node) {
        self.datetime |= other.datetime;
        self.numbers_allowed |= other.numbers_allowed;
        for (k, n) in other.props {
            self.prop(&k).merge(n);
        }
        for p in other.patterns {
            match self.patterns.iter_mut().find(|q| q.source == p.source) {
                Some(q) => q.node.merge(p.node),
                None => self.patterns.push(p),
            }
        }
        if let Some(n) = other.other_props {
            self.other_props
                .get_or_insert_with(Default::default)
                .merge(*n);
        }
        if let Some(n) = other.items {
            self.items.get_or_insert_with(Default::default).merge(*n);
        }
        for (i, n) in other.tuple.into_iter().enumerate() {
            self.index(i).merge(n);
        }
    }

    /// Merges `items` into each tuple element and matching patterns into each
    /// listed property, at every location.
    fn finish(&mut self) {
        if let Some(items) = &self.items {
            for t in &mut self.tuple {
                t.merge((**items).clone());
            }
        }
        for (k, n) in &mut self.props {
            for p in &self.patterns {
                if p.is_match(k) {
                    n.merge(p.node.clone());
                }
            }
        }
        let children = self.props.iter_mut().map(|(_, n)| n);
        let children = children
            .chain(self.patterns.iter_mut().map(|p| &mut p.node))
            .chain(self.other_props.as_deref_mut())
            .chain(self.items.as_deref_mut())
            .chain(self.tuple.iter_mut());
        for n in children {
            n.finish();
        }
    }

    /// Drops every location without date-times at or below it; returns
    /// whether any is left. Listed properties stay (empty) when patterns or
    /// `additionalProperties` have date-times, as those do not apply to them.
    fn prune(&mut self) -> bool {
        let mut work = self.datetime;
        for slot in [&mut self.other_props, &mut self.items] {
            if let Some(n) = slot {
                if n.prune() {
                    work = true;
                } else {
                    *slot = None;
                }
            }
        }
        self.patterns.retain_mut(|p| p.node.prune());
        work |= !self.patterns.is_empty();
        // Tuple elements keep their index: an empty one stays (a default node).
        let mut any = false;
        for t in &mut self.tuple {
            if t.prune() {
                any = true;
            } else {
                *t = Node::default();
            }
        }
        if any {
            work = true;
            while self.tuple.last().is_some_and(|t| t.is_empty()) {
                self.tuple.pop();
            }
        } else {
            self.tuple.clear();
        }
        let keep_all = self.other_props.is_some() || !self.patterns.is_empty();
        self.props.retain_mut(|(_, n)| {
            if n.prune() {
                true
            } else {
                *n = Node::default();
                keep_all
            }
        });
        work || self.props.iter().any(|(_, n)| !n.is_empty())
    }

    /// The node of listed property `name`, added (at the end) when new: a
    /// lookup by hash past [`SCAN_MAX`] properties, no sorted insert.
    fn prop(&mut self, name: &str) -> &mut Node {
        let i = match self.find(name) {
            Some(i) => i,
            None => {
                let i = self.props.len();
                self.props.push((name.into(), Node::default()));
                if let Some(map) = &mut self.by_name {
                    map.insert(name.into(), i);
                } else if self.props.len() > SCAN_MAX {
                    self.by_name = Some(self.props_by_name());
                }
                i
            }
        };
        &mut self.props[i].1
    }

    fn index(&mut self, idx: usize) -> &mut Node {
        if self.tuple.len() <= idx {
            self.tuple.resize_with(idx + 1, Node::default);
        }
        &mut self.tuple[idx]
    }

    fn build(&mut self, schema: &Value, root: &Value, refs: &mut Vec<String>) {
        let Value::Object(map) = schema else {
            return;
        };
        if let Some(Value::String(reference)) = map.get("$ref") {
            // Each ref is expanded at most twice along a path, so recursive
            // schemas end.
            if refs.iter().filter(|r| *r == reference).count() < 2 {
                if let Some(target) = resolve_ref(root, reference) {
                    refs.push(reference.clone());
                    self.build(target, root, refs);
                    refs.pop();
                }
            }
        }
        if let Some(Value::String(f)) = map.get("format") {
            if f == "date-time" || f == "datetime" {
                self.datetime = true;
            }
        }
        match map.get("type") {
            Some(Value::String(t)) if t == "integer" || t == "number" => {
                self.numbers_allowed = true
            }
            Some(Value::Array(ts)) if ts.iter().any(|t| t == "integer" || t == "number") => {
                self.numbers_allowed = true
            }
            _ => {}
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            for (k, sub) in props {
                let node = self.prop(k);
                // Most properties of a large schema have no date-time below
                // them: listed (it matters when patterns or
                // `additionalProperties` have some) but not built, then pruned.
                if !precheck() || may_hold_datetime(sub) {
                    node.build(sub, root, refs);
                }
            }
        }
        if let Some(Value::Object(pats)) = map.get("patternProperties") {
            for (source, sub) in pats {
                let mut node = Node::default();
                node.build(sub, root, refs);
                match self.patterns.iter_mut().find(|p| p.source == *source) {
                    Some(p) => p.node.merge(node),
                    None => self.patterns.push(Pattern {
                        source: source.clone(),
                        regex: regex::Regex::new(source).ok(),
                        node,
                    }),
                }
            }
        }
        if let Some(sub @ Value::Object(_)) = map.get("additionalProperties") {
            self.other_props
                .get_or_insert_with(Default::default)
                .build(sub, root, refs);
        }
        match map.get("items") {
            Some(sub @ Value::Object(_)) => self
                .items
                .get_or_insert_with(Default::default)
                .build(sub, root, refs),
            Some(Value::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    self.index(i).build(sub, root, refs);
                }
            }
            _ => {}
        }
        if let Some(Value::Array(subs)) = map.get("prefixItems") {
            for (i, sub) in subs.iter().enumerate() {
                self.index(i).build(sub, root, refs);
            }
        }
        for kw in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(subs)) = map.get(kw) {
                for sub in subs {
                    self.build(sub, root, refs);
                }
            }
        }
        for kw in ["then", "else"] {
            if let Some(sub) = map.get(kw) {
                self.build(sub, root, refs);
            }
        }
    }
}

/// Whether building `schema` may give a node with a date-time: some
/// `format` or `$ref` key at or below it (a key named so in `properties`
/// counts too: a false yes only costs the build). A walk that allocates
/// nothing. It made the open of `cargo xtask bench`'s 10x schema (empty
/// replay, `perf stat -r 30`) take 12.7 ms instead of 14.1.
fn may_hold_datetime(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "format" || k == "$ref" || may_hold_datetime(v)),
        Value::Array(items) => items.iter().any(may_hold_datetime),
        _ => false,
    }
}

#[cfg(not(test))]
#[inline(always)]
fn precheck() -> bool {
    true
}

#[cfg(test)]
thread_local! {
    /// Tests build plans without [`may_hold_datetime`] too, to compare.
    static PRECHECK: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

#[cfg(test)]
fn precheck() -> bool {
    PRECHECK.with(|p| p.get())
}

/// Resolves a local `$ref` against the root schema.
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    if let Some(ptr) = reference.strip_prefix('#') {
        root.pointer(ptr)
    } else if !reference.contains(['/', ':', '#']) {
        root.get("$defs")?.get(reference)
    } else {
        None
    }
}

/// The declared normalizations as a tree of their JSON pointers' tokens.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// What to do with the value at this pointer (after the automatic
    /// date-time normalization).
    pub action: Option<Normalization>,
    children: Vec<(Box<str>, Declared)>,
}

impl Declared {
    /// `None` when there is nothing declared (or no pointer could ever
    /// resolve: one not starting with `/` is skipped, as `Value::pointer` does).
    pub fn new(declared: &[Normalize]) -> Option<Declared> {
        let mut root = Declared::default();
        let mut any = false;
        for d in declared {
            // Validated by codegen at build time (patches::pointer).
            let Ok(tokens) = patches::pointer::Pointer::parse(d.pointer).map(|p| p.into_tokens())
            else {
                continue;
            };
            let mut at = &mut root;
            for t in tokens {
                let i = match at.children.iter().position(|(k, _)| **k == *t) {
                    Some(i) => i,
                    None => {
                        at.children.push((t.into(), Declared::default()));
                        at.children.len() - 1
                    }
                };
                at = &mut at.children[i].1;
            }
            // The same normalization twice is the same as once.
            at.action = Some(d.normalization);
            any = true;
        }
        any.then_some(root)
    }

    /// The tree under member `name` of an object here.
    pub fn member(&self, name: &str) -> Option<&Declared> {
        self.children
            .iter()
            .find(|(k, _)| **k == *name)
            .map(|(_, d)| d)
    }

    /// The tree under element `index` of an array here: a token is an index
    /// as serde_json's `Value::pointer` reads one (digits, no leading zero).
    pub fn element(&self, index: usize) -> Option<&Declared> {
        self.children
            .iter()
            .find(|(k, _)| parse_index(k) == Some(index))
            .map(|(_, d)| d)
    }

    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }
}

/// serde_json's array index rule for pointers (src/value/mod.rs `parse_index`).
fn parse_index(s: &str) -> Option<usize> {
    if s.starts_with('+') || (s.starts_with('0') && s.len() != 1) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The plan of `schema`, built with and without [`may_hold_datetime`].
    fn both(schema: &Value) -> (String, String) {
        let with = format!("{:?}", Node::new(schema));
        PRECHECK.with(|p| p.set(false));
        let without = format!("{:?}", Node::new(schema));
        PRECHECK.with(|p| p.set(true));
        (with, without)
    }

    /// Skipping the build of properties with no `format` or `$ref` below them
    /// gives the very plan the full build gives: on hand-written schemas
    /// (listed properties beside patterns and `additionalProperties`, refs,
    /// a property named `format`) and on every discovered schema of the
    /// shared fixtures.
    #[test]
    fn the_precheck_changes_no_plan() {
        let dt = json!({"type": "string", "format": "date-time"});
        let mut schemas = vec![
            json!({"properties": {"a": {"type": "string"}, "b": dt}}),
            json!({"properties": {"a": {"type": "string"}, "b": {"type": "object"}},
                   "patternProperties": {"^a": dt}}),
            json!({"properties": {"x": {"type": "integer"}}, "additionalProperties": dt}),
            json!({"properties": {"r": {"$ref": "#/$defs/t"}, "s": {"properties": {"format": {"type": "string"}}}},
                   "$defs": {"t": dt}}),
            json!({"properties": {"n": {"properties": {"deep": {"items": {"anyOf": [{"type": "null"}, dt]}}}}}}),
        ];
        if let Some(root) = testkit::fixture("the_precheck_changes_no_plan", "") {
            for e in std::fs::read_dir(&root).unwrap() {
                let discover = e.unwrap().path().join("discover.jsonl");
                let Ok(text) = std::fs::read_to_string(&discover) else {
                    continue;
                };
                for line in text.lines() {
                    let Ok(m) = serde_json::from_str::<Value>(line) else {
                        continue;
                    };
                    for s in m["catalog"]["streams"].as_array().into_iter().flatten() {
                        schemas.push(s["json_schema"].clone());
                    }
                }
            }
            assert!(schemas.len() > 100, "{} schemas", schemas.len());
        }
        for schema in &schemas {
            let (with, without) = both(schema);
            assert_eq!(with, without, "{schema}");
        }
    }
}
