#!/usr/bin/env bash
# `npm run quickstart`: from a fresh clone to embeddings of the example papers.
#   1. the native backend's build tools (Debian/Ubuntu, as root or with non-interactive sudo):
#      apt-get install build-essential libdnnl-dev; skipped with a note anywhere else;
#   2. npm ci, which runs this package's install script (node native/install.js: builds the native addon
#      where a compiler and oneDNN are present, otherwise says why in one line) and its build (prepare:
#      npm run build = tsc + the ES module wrappers); run by hand where npm is set to ignore scripts;
#   3. says which backend the demo will run on;
#   4. npm run demo: embeds examples/papers.jsonl with weights/specter2-tiny into embeddings.jsonl.
# Without the native addon everything works on the wasm backend: it only runs slower.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'quickstart: %s\n' "$*"; }
APT_PACKAGES="build-essential libdnnl-dev"
APT_HOW="apt-get install -y $APT_PACKAGES && node native/install.js"
OTHER_HOW="a C++ compiler, make and oneDNN (macOS: brew install onednn), then node native/install.js"

install_build_tools() {
  if [ -n "${SPECTER2_SKIP_APT:-}" ]; then
    say "SPECTER2_SKIP_APT is set: not running apt-get install $APT_PACKAGES (for the native backend: $APT_HOW)"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: not installing the native backend's build tools; it needs $OTHER_HOW"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
      sudo="sudo -n"
    else
      say "not root and no password-less sudo: not running apt-get (for the native backend: sudo $APT_HOW)"
      return 0
    fi
  fi
  say "installing $APT_PACKAGES with ${sudo:+sudo }apt-get (the native oneDNN backend's compiler and library)"
  if $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PACKAGES; then
    say "installed $APT_PACKAGES"
  else
    say "apt-get failed: going on without them (for the native backend: $APT_HOW)"
  fi
}

install_build_tools

say "npm ci: the dependencies, then this package's install script (node native/install.js: the native addon) and build (npm run build)"
npm ci --no-audit --no-fund

# Where npm is set to skip lifecycle scripts (ignore-scripts), npm ci ran neither: run them here.
if [ "$(npm config get ignore-scripts 2>/dev/null)" = "true" ]; then
  say "npm ignores scripts here: building (npm run build) and the native addon (node native/install.js) by hand"
  npm run build --ignore-scripts=false
  node native/install.js
fi
if [ -f native/build/Release/specter2_native.node ]; then
  say "native backend available: --backend native (auto picks it)"
else
  say "native backend not built: the demo runs on the wasm backend (works everywhere, slower); for native: $APT_HOW (Debian/Ubuntu, as root) or $OTHER_HOW"
fi

say "npm run demo"
npm run demo
say "done: embeddings.jsonl holds one embedding per paper of examples/papers.jsonl"
