//! `schema_normalizations.json`: the normalizations of every stream's schema,
//! by name.

use patches::SchemaNormalization;

use super::context::{show, Ctx};
use super::names::SCHEMA_NORMALIZATIONS;
use super::pointer::ptr;

/// Reads `schema_normalizations.json`: distinct known normalizations, in file
/// order.
pub(super) fn load(cx: &mut Ctx) -> Vec<SchemaNormalization> {
    let mut schema_normalizations = Vec::new();
    if let Some(v) = cx.json(SCHEMA_NORMALIZATIONS) {
        match v.as_array() {
            None => cx.err(SCHEMA_NORMALIZATIONS, "(root)", format!("expected an array of normalization names, got {}; write e.g. [\"date-to-datetime\"]", show(&v))),
            Some(items) => {
                let names: Vec<_> = SchemaNormalization::ALL.iter().map(|n| n.name()).collect();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(SchemaNormalization::from_name) {
                        Some(n) if !schema_normalizations.contains(&n) => schema_normalizations.push(n),
                        Some(n) => cx.err(SCHEMA_NORMALIZATIONS, ptr(&[&i.to_string()]), format!("{:?} is listed twice; list it once", n.name())),
                        None => cx.err(SCHEMA_NORMALIZATIONS, ptr(&[&i.to_string()]), format!("unknown schema normalization {}; known: {}", show(item), names.join(", "))),
                    }
                }
            }
        }
    }
    schema_normalizations
}
