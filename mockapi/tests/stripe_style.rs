//! Stripe's list habits in the mock, through `routes::Api` (no sockets):
//! a `created[gte]`..`created[lte]` window (both inclusive), newest first,
//! `starting_after` pages over that order, and data moved forward to the
//! clock by `shift_times`.

use mockapi::routes::Api;
use mockapi::Loaded;
use serde_json::{json, Value};

const TOKEN: &str = "sk_test_mock-0123456789abcdef0123456789abcdef";

fn spec_dir(shift: Option<Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = json!({
        "hosts": ["api.stripe.com"],
        "auth": {"bearer": {"token": TOKEN}},
        "routes": [
            {"name": "events", "path": "/v1/events", "data": "events.json",
             "pagination": {"style": "cursor", "default_size": 2},
             "filter": {"param": "created[gte]", "until_param": "created[lte]",
                        "field": "created", "order": "desc"}}
        ]
    });
    if let Some(shift) = shift {
        spec["shift_times"] = shift;
    }
    std::fs::write(dir.path().join("mock.json"), spec.to_string()).unwrap();
    // Two events share an instant (evt_2, evt_3): their file order holds.
    let events = json!([
        {"id": "evt_1", "created": 1_796_000_000, "data": {"object": {"created": 1_795_000_000, "name": "a"}}},
        {"id": "evt_2", "created": 1_796_000_100, "data": {"object": {"created": 1_795_000_100}}},
        {"id": "evt_3", "created": 1_796_000_100, "data": {"object": {"created": 1_795_000_200}}},
        {"id": "evt_4", "created": 1_796_000_200, "at": "2026-11-30T10:00:00Z"},
        {"id": "evt_5", "created": 1_796_000_300}
    ]);
    std::fs::write(dir.path().join("events.json"), events.to_string()).unwrap();
    dir
}

fn get(api: &mut Api, query: &[(&str, &str)]) -> Value {
    let answer = api.answer(
        "GET",
        "api.stripe.com",
        "/v1/events",
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        vec![("authorization".into(), format!("Bearer {TOKEN}"))],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

fn ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[test]
fn a_created_window_newest_first_paged_by_starting_after() {
    let dir = spec_dir(None);
    let mut api = Api::new(Loaded::read(dir.path()).unwrap());

    let all = get(&mut api, &[]);
    assert_eq!(ids(&all), ["evt_5", "evt_4"], "newest first, a page of 2");
    assert_eq!(all["has_more"], true);
    let next = get(&mut api, &[("starting_after", "evt_4")]);
    assert_eq!(ids(&next), ["evt_2", "evt_3"], "ties keep their file order");
    let last = get(&mut api, &[("starting_after", "evt_3")]);
    assert_eq!(
        (ids(&last), &last["has_more"]),
        (vec!["evt_1"], &json!(false))
    );

    // Both bounds inclusive: the boundary records come again.
    let window = get(
        &mut api,
        &[
            ("created[gte]", "1796000100"),
            ("created[lte]", "1796000200"),
            ("limit", "10"),
        ],
    );
    assert_eq!(ids(&window), ["evt_4", "evt_2", "evt_3"]);
    let only_lte = get(&mut api, &[("created[lte]", "1796000000")]);
    assert_eq!(ids(&only_lte), ["evt_1"]);
}

#[test]
fn shift_times_moves_named_fields_by_whole_days_at_any_depth() {
    let shift = json!({"recorded_at": "2026-12-01T00:00:00Z", "fields": ["created", "at"]});
    let spec: mockapi::spec::ShiftTimes = serde_json::from_value(shift.clone()).unwrap();
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(spec.offset(at("2026-12-03T23:59:59Z")).unwrap(), 2 * 86_400);
    assert_eq!(
        spec.offset(at("2026-11-20T00:00:00Z")).unwrap(),
        0,
        "never back"
    );
    let bad: mockapi::spec::ShiftTimes =
        serde_json::from_value(json!({"recorded_at": "yesterday", "fields": []})).unwrap();
    let err = bad
        .offset(at("2026-12-03T00:00:00Z"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"yesterday\""), "{err}");

    let mut record = json!({"created": 10, "name": "created", "data": {"object": {"created": 20}},
                            "items": [{"at": "2026-11-30T10:00:00Z"}], "at": null});
    spec.apply(&mut record, 86_400);
    assert_eq!(
        record,
        json!({"created": 86_410, "name": "created", "data": {"object": {"created": 86_420}},
               "items": [{"at": "2026-12-01T10:00:00Z"}], "at": null})
    );

    // Loaded::read applies it with the clock: whole days, never later than now.
    let dir = spec_dir(Some(shift));
    let loaded = Loaded::read(dir.path()).unwrap();
    let now = chrono::Utc::now();
    let days = spec.offset(now).unwrap();
    let events = &loaded.data["events.json"];
    assert_eq!(events[0]["created"], 1_796_000_000 + days);
    assert_eq!(events[0]["data"]["object"]["created"], 1_795_000_000 + days);
    let latest = events.iter().map(|e| e["created"].as_i64().unwrap()).max();
    assert!(latest.unwrap() <= now.timestamp());
}
