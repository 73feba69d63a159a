"""A tiny shop service whose bugs are real: the e2e tests of Faultline run it
with the OpenTelemetry Python SDK and check how the server groups what it
reports."""
