//! Turns an error event into a fingerprint, a title and a culprit.
