#!/usr/bin/env bash
# Installs the SMTP server the email channel tests run (aiosmtpd, pinned in
# requirements.txt beside this script) into <workspace>/target/alert-venv.
# Reinstalls only when the pinned list or the interpreter changed, so reruns
# cost nothing. Run from anywhere; scripts/test calls it before the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
venv=target/alert-venv
requirements=crates/faultline-alert/tests/smtp/requirements.txt

command -v python3 >/dev/null || {
    echo "$0 needs python3 (Python 3 with venv and pip) on PATH" >&2
    exit 1
}
python_version="$(python3 --version 2>&1)"
want="$python_version $(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" = "$want" ] && "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    exit 0
fi
echo "installing $requirements into $venv"
# Missing, broken or made by another interpreter: start afresh.
if [ "$("$venv/bin/python" --version 2>&1)" != "$python_version" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || {
        echo "python3 -m venv failed: install Python's venv module (Debian: python3-venv)" >&2
        exit 1
    }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" >"$venv/.installed"
