//! `run_interval_minutes.json`: how often Flow runs the capture.

use super::context::{show, Ctx};
use super::names::RUN_INTERVAL_MINUTES;

/// Reads `run_interval_minutes.json`: a positive number of minutes.
pub(super) fn load(cx: &mut Ctx) -> Option<u32> {
    cx.json(RUN_INTERVAL_MINUTES).and_then(|v| {
        match v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
        {
            Some(n) => Some(n),
            None => {
                cx.err(
                    RUN_INTERVAL_MINUTES,
                    "(root)",
                    format!(
                        "expected a positive integer number of minutes, got {}; write e.g. 60",
                        show(&v)
                    ),
                );
                None
            }
        }
    })
}
