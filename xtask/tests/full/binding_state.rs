//! Flow's per-binding state, end to end, the way Flow's runtime drives a
//! capture: the binaries `cargo xtask build` makes (`source-faker` against the
//! real faker 7.2.1, `source-harvest` against the real upstream connector and
//! its mock API), a series of `open`s, each from the state Flow reduced from
//! the checkpoints of the runs before, each binding carrying the `backfill`
//! counter and `stateKey` Flow sends (`flow.CaptureSpec.Binding`):
//!
//! 1. first run: every binding read in full;
//! 2. resume: nothing read again;
//! 3. one binding's backfill bumped (`backfill: 1`, `stateKey` `<stream>.v1`):
//!    that binding read in full, the other resumed;
//! 4. a binding removed (its state removed by the next checkpoint), then
//!    added again: read in full;
//! 5. the state the runtime wrote before `stateKey`s
//!    (`{"_atf_state_format":"STREAM","<stream>":..}`): resumed, not read
//!    again, and moved under the bindings' state keys.
//!
//! Every response line is decoded by `testkit::flow`'s strict types (through
//! `testkit::exchange`). The documents per binding of each run are printed.

use crate::e2e::{self, open_binding, E2e};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::process::Command;

/// What one `open` gave: documents per stream, and the state Flow reduced.
struct Step {
    docs: BTreeMap<String, usize>,
    state: Value,
}

/// Opens `bindings` (as Flow sends them) from `state`: the run's messages.
type Open<'a> = dyn Fn(Vec<Value>, Option<&Value>) -> (bool, Vec<Value>, String) + 'a;

/// Called after a run with what it was and the streams read in full.
type After<'a> = dyn Fn(&str, &[&str]) + 'a;

struct Scenario<'a> {
    label: &'a str,
    /// Two discovered bindings: the first is backfilled, the second removed
    /// and added again.
    bindings: [Value; 2],
    /// Documents of each binding read in full, and resumed.
    full: [usize; 2],
    resumed: [usize; 2],
    open: Box<Open<'a>>,
    /// Called after each run with the streams expected to be read in full.
    after: Box<After<'a>>,
}

fn stream(b: &Value) -> String {
    b["resourceConfig"]["stream"].as_str().unwrap().to_string()
}

/// The keys of the persisted state's `bindingStateV1`, and that nothing
/// else is at its top level.
fn state_keys(state: &Value) -> Vec<String> {
    let top: Vec<&String> = state.as_object().unwrap().keys().collect();
    assert_eq!(top, ["bindingStateV1"], "{state}");
    state["bindingStateV1"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

impl Scenario<'_> {
    fn step(&self, what: &str, bindings: &[(&Value, u32)], state: &Value) -> Step {
        let open: Vec<Value> = bindings.iter().map(|(b, n)| open_binding(b, *n)).collect();
        let from = (state != &json!({})).then_some(state);
        let (ok, messages, stderr) = (self.open)(open, from);
        assert!(ok, "{}: {what}: the capture failed:\n{stderr}", self.label);
        let mut docs: BTreeMap<String, usize> =
            bindings.iter().map(|(b, _)| (stream(b), 0)).collect();
        let mut state = state.clone();
        for m in &messages {
            if let Some(c) = m.get("captured") {
                let i = c["binding"].as_u64().unwrap_or(0) as usize;
                *docs.get_mut(&stream(bindings[i].0)).unwrap() += 1;
            }
            if let Some(c) = m.get("checkpoint") {
                testkit::reduce(&mut state, &[c]);
            }
        }
        eprintln!("{}: {what}: documents {docs:?}", self.label);
        Step { docs, state }
    }

    fn expect(&self, pairs: &[(usize, bool)]) -> BTreeMap<String, usize> {
        pairs
            .iter()
            .map(|(i, full)| {
                let n = if *full {
                    self.full[*i]
                } else {
                    self.resumed[*i]
                };
                (stream(&self.bindings[*i]), n)
            })
            .collect()
    }

    fn run(&self) {
        let [a, b] = &self.bindings;
        let (na, nb) = (stream(a), stream(b));
        let after = |what: &str, full: &[&str]| (self.after)(what, full);

        let first = self.step("1 first run", &[(a, 0), (b, 0)], &json!({}));
        assert_eq!(first.docs, self.expect(&[(0, true), (1, true)]));
        after("first run", &[&na, &nb]);
        assert_eq!(state_keys(&first.state), [na.clone(), nb.clone()]);

        let resumed = self.step("2 resume", &[(a, 0), (b, 0)], &first.state);
        assert_eq!(resumed.docs, self.expect(&[(0, false), (1, false)]));
        after("resume", &[]);

        let bumped = self.step(
            "3 backfill of the first bumped",
            &[(a, 1), (b, 0)],
            &resumed.state,
        );
        assert_eq!(bumped.docs, self.expect(&[(0, true), (1, false)]));
        after("backfill", &[&na]);
        let v1 = format!("{na}.v1");
        assert_eq!(
            state_keys(&bumped.state),
            [nb.clone(), v1.clone()],
            "the state under the old key is gone"
        );

        let removed = self.step("4a second removed", &[(a, 1)], &bumped.state);
        assert_eq!(removed.docs, self.expect(&[(0, false)]));
        after("removed", &[]);
        assert_eq!(state_keys(&removed.state), std::slice::from_ref(&v1));
        let readded = self.step("4b second added again", &[(a, 1), (b, 0)], &removed.state);
        assert_eq!(readded.docs, self.expect(&[(0, false), (1, true)]));
        after("added again", &[&nb]);
        assert_eq!(state_keys(&readded.state), [v1, nb.clone()]);

        // What the runtime persisted before state keys, for the state of run 1.
        let mut old = Map::new();
        old.insert("_atf_state_format".into(), json!("STREAM"));
        for (k, v) in first.state["bindingStateV1"].as_object().unwrap() {
            old.insert(k.clone(), v.clone());
        }
        let old = Value::Object(old);
        let upgraded = self.step("5 state of before state keys", &[(a, 0), (b, 0)], &old);
        assert_eq!(upgraded.docs, self.expect(&[(0, false), (1, false)]));
        after("upgrade", &[]);
        assert_eq!(state_keys(&upgraded.state), [na.clone(), nb.clone()]);
        eprintln!(
            "{}: state before the upgrade: {old}\n{}: after: {}",
            self.label, self.label, upgraded.state
        );
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn faker_state_per_binding_across_backfills_removals_and_the_upgrade() {
    let out = tempfile::tempdir().unwrap();
    let binary = e2e::last_line(&[
        "build",
        "source-faker",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let faker = testkit::faker(testkit::FAKER_LATEST);
    let faker = faker.to_str().unwrap();
    // `always_updated: false`: a resumed faker emits nothing new.
    let config = json!({"count": 1000, "advanced": {"seed": 7}, "always_updated": false,
                        "_atf_skip_interval": true});
    let exchange = |requests: &[Value]| {
        let x = testkit::exchange(
            Command::new(&binary).args(["--connector-entrypoint", faker]),
            requests,
        );
        (x.status.success(), x.messages, x.stderr)
    };
    let (ok, discovered, stderr) =
        exchange(&[json!({"discover": {"connectorType": "IMAGE", "config": config}})]);
    assert!(ok, "{stderr}");
    let bindings = discovered[0]["discovered"]["bindings"].as_array().unwrap();
    let pick = |n: &str| {
        bindings
            .iter()
            .find(|b| b["recommendedName"] == n)
            .unwrap_or_else(|| panic!("no {n} binding"))
            .clone()
    };
    Scenario {
        label: "source-faker",
        bindings: [pick("users"), pick("purchases")],
        full: [1000, 1000],
        resumed: [0, 0],
        open: Box::new(|open, state| {
            let request = testkit::build::open("source-faker", &config, open, state);
            exchange(&[request])
        }),
        after: Box::new(|_, _| {}),
    }
    .run();
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn harvest_state_per_binding_across_backfills_removals_and_the_upgrade() {
    let t = E2e::new("source-harvest");
    let start = "2025-01-01T00:00:00Z";
    let config = json!({
        "account_id": "1960341",
        "replication_start_date": start,
        "credentials": {"auth_type": "Token",
                        "api_token": "mock-harvest-personal-access-token-3c9e1f7a5b2d8e4c6a0f9b1d7e3c5a8f"},
    });
    let discovered = t.discover(&config);
    let pick = |n: &str| e2e::binding(&discovered, n).clone();
    Scenario {
        label: "source-harvest",
        bindings: [pick("clients"), pick("time_entries")],
        // Two pages each; resumed, Harvest's inclusive `updated_since` gives
        // back the records at the cursor's instant (one client, two entries).
        full: [55, 55],
        resumed: [1, 2],
        open: Box::new(|open, state| {
            t.mock.clear_requests();
            let run = t.open_bindings(&config, open, state);
            (run.ok, run.messages, run.stderr)
        }),
        // The filter each stream's first call sent: the start date when read
        // in full, a later cursor when resumed.
        after: Box::new(|what, full| {
            for route in ["clients", "time_entries"] {
                let Some(call) = t.mock.requests_to(route).into_iter().next() else {
                    continue;
                };
                let since = call.param("updated_since").unwrap_or_default().to_string();
                assert_eq!(
                    since == start,
                    full.contains(&route),
                    "{what}: {route} asked for updated_since={since}"
                );
            }
        }),
    }
    .run();
}
