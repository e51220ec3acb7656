#!/usr/bin/env bash
# Install the headless browser the test command's browser checks use
# (tests/test_listening.py): Debian's chromium and chromium-driver. Idempotent and quick
# when both are present; `apt-get update` runs once, only when something is missing.
# Never fails the build: when it cannot install, it says what is missing, and the
# browser tests then fail with one line naming the package (they are never skipped).
set -u

have_browser() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_driver() { command -v chromedriver >/dev/null 2>&1; }

if have_browser && have_driver; then
  exit 0
fi

missing=()
have_browser || missing+=(chromium)
have_driver || missing+=(chromium-driver)

# shellcheck source=scripts/lib_apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_apt.sh"
apt_install "for the browser checks" "${missing[@]}" && exit 0

echo "musicalpy: missing for the browser checks: ${missing[*]}" >&2
echo "  install them with: sudo apt-get install ${missing[*]}" >&2
exit 0
