//! Active checks.
