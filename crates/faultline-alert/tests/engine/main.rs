//! The alert engine, driven with explicit time: every test is pure and
//! deterministic.

#![allow(clippy::unwrap_used)]

mod support;

mod anomaly;
mod checks;
mod issues;
mod rules;
mod silences;
mod state;
mod thresholds;
