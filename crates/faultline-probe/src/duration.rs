//! Durations in the config are humantime strings, as in the rest of
//! Faultline's config; the helpers live in `faultline-model`.

pub(crate) use faultline_model::duration::{format, option};
