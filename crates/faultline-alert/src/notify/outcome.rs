//! What one attempt of any transport comes back with: enough for the
//! retry loop to decide, and for the attempt record to explain.

use std::time::Duration;

pub(crate) struct Outcome {
    /// The HTTP status, or the SMTP reply code, of the last answer.
    pub status_code: Option<u16>,
    pub result: Result<(), Failure>,
}

pub(crate) struct Failure {
    pub message: String,
    pub retry: Retry,
}

pub(crate) enum Retry {
    /// Retrying cannot help (the receiver refused the content or the credentials).
    Never,
    /// A transient failure, with the wait the receiver asked for, if any.
    After(Option<Duration>),
}

impl Outcome {
    pub fn ok(status_code: Option<u16>) -> Self {
        Outcome { status_code, result: Ok(()) }
    }

    pub fn transient(status_code: Option<u16>, message: String, retry_after: Option<Duration>) -> Self {
        Outcome { status_code, result: Err(Failure { message, retry: Retry::After(retry_after) }) }
    }

    pub fn permanent(status_code: Option<u16>, message: String) -> Self {
        Outcome { status_code, result: Err(Failure { message, retry: Retry::Never }) }
    }
}
