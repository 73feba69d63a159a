//! OTLP requests in, Faultline error events out.
