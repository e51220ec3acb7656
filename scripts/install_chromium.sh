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

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
fi

if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  echo "musicalpy: installing ${missing[*]} with apt-get (for the browser checks) ..."
  export DEBIAN_FRONTEND=noninteractive
  if $sudo apt-get update -qq >/dev/null && \
     $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "musicalpy: installed ${missing[*]}"
    exit 0
  fi
  echo "musicalpy: apt-get could not install ${missing[*]}" >&2
fi

echo "musicalpy: missing for the browser checks: ${missing[*]}" >&2
echo "  install them with: sudo apt-get install ${missing[*]}" >&2
exit 0
