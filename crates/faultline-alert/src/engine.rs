//! Rule evaluation and the alert lifecycle.
