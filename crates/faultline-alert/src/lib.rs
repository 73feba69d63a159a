//! Alerting: rules are evaluated into alerts with a lifecycle (pending,
//! firing, resolved); notifications about them go out through channels.
//!
//! `alert` holds the types both halves share: the engine produces
//! [`Notification`]s, the notifiers deliver them.

pub mod alert;
pub mod engine;
pub mod notify;

pub use alert::{Alert, AlertState, Notification, NotificationKind, Severity};
