#!/usr/bin/env bash
# Installs the SMTP server the email channel tests run (aiosmtpd, pinned in
# requirements.txt beside this script) into <workspace>/target/alert-venv.
# scripts/test calls it before the tests; it can be run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../../../scripts/install-venv" target/alert-venv crates/faultline-alert/tests/smtp/requirements.txt
