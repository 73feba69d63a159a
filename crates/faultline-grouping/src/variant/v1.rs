//! Grouping version 1's stack-trace variant, frozen.
//!
//! Version 1 hashed the exception type and up to five frames nearest the
//! raise site (in-app when there were any), so the same failure reached
//! from two entry points split into two issues unless it happened more than
//! five in-app frames deep. Version 2 hashes one frame (see
//! [`crate::locate`]). This copy only recomputes what version 1 gave an
//! event, so the event can join the group version 1 made; do not change it.

use faultline_model::ErrorEvent;

use super::{exception_type, Method, Variant};
use crate::stacktrace::{Frame, Trace};

/// Frames version 1 hashed.
const FINGERPRINT_FRAMES: usize = 5;

/// Exception type plus the grouping keys of the root cause's top frames.
pub(super) fn stacktrace(event: &ErrorEvent, trace: &Trace) -> Option<Variant> {
    let root = trace.root_cause()?;
    let keys = grouping_frames(&root.frames);
    if keys.is_empty() {
        return None;
    }
    let mut components = vec![exception_type(event, root).to_string()];
    components.extend(keys);
    Some(Variant { method: Method::Stacktrace, components })
}

/// Up to `FINGERPRINT_FRAMES` keys nearest the raise site: in-app frames
/// when there are any, else all; consecutive repeats (recursion) once.
fn grouping_frames(frames: &[Frame]) -> Vec<String> {
    let has_in_app = frames.iter().any(|f| f.in_app);
    let mut keys: Vec<String> = Vec::new();
    for frame in frames.iter().filter(|f| f.in_app || !has_in_app) {
        let key = frame.grouping_key();
        if key == "|" || keys.last() == Some(&key) {
            continue;
        }
        keys.push(key);
        if keys.len() == FINGERPRINT_FRAMES {
            break;
        }
    }
    keys
}
