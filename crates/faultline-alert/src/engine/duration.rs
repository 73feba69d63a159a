//! Durations in rules are humantime strings, as in the rest of Faultline's
//! configuration; inside the engine they become nanoseconds. The helpers
//! live in `faultline-model`.

pub(crate) use faultline_model::duration::{format, nanos, option};
