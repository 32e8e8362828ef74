#!/usr/bin/env bash
# Headless Chromium and a Korean font from Debian's packages, for the browser tests
# (tests/functions/test_web_browser.py). Idempotent: installs only what is missing, and
# never downloads a vendor's browser build (no `playwright install`: Playwright drives
# /usr/bin/chromium). Without root or apt it only says what is missing; the browser tests
# then skip, unless REQUIRE_BROWSER=1 (CI), where they fail.
set -euo pipefail

packages=(chromium fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "${package}" >/dev/null 2>&1 || missing+=("${package}")
done
((${#missing[@]} == 0)) && exit 0

if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: missing ${missing[*]} (apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 0
fi
echo "browser: installing ${missing[*]} from Debian's packages"
apt=(apt-get -o DPkg::Lock::Timeout=600 -qq)
"${apt[@]}" update
DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
