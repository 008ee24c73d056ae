#!/usr/bin/env bash
# `npm run quickstart`: from a fresh clone to embeddings of the example papers.
#   1. the native backend's build tools (Debian/Ubuntu, as root or with non-interactive sudo):
#      apt-get install build-essential libdnnl-dev; skipped with a note anywhere else;
#   2. npm ci (which also builds the library);
#   3. the native addon (node native/install.js, which npm ci runs too: built where a compiler and oneDNN
#      are present, otherwise it says why in one line);
#   4. npm run demo: embeds examples/papers.jsonl with weights/specter2-tiny into embeddings.jsonl.
# Without the native addon everything works on the wasm backend: it only runs slower.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'quickstart: %s\n' "$*"; }
APT_PACKAGES="build-essential libdnnl-dev"
NATIVE_HOW="apt-get install -y $APT_PACKAGES && node native/install.js   (as root; on macOS: brew install onednn)"

install_build_tools() {
  if [ -n "${SPECTER2_SKIP_APT:-}" ]; then
    say "SPECTER2_SKIP_APT is set: not installing $APT_PACKAGES. The native backend needs: $NATIVE_HOW"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: not installing $APT_PACKAGES (the native backend needs a C++ compiler, make and oneDNN; on Debian/Ubuntu: $NATIVE_HOW)"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
      sudo="sudo -n"
    else
      say "not root and no non-interactive sudo: not installing $APT_PACKAGES. For the native backend run: sudo $NATIVE_HOW"
      return 0
    fi
  fi
  say "installing $APT_PACKAGES with apt-get (for the native oneDNN backend)"
  if $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PACKAGES; then
    say "installed $APT_PACKAGES"
  else
    say "apt-get failed: going on without them (the wasm backend works). For the native backend: $NATIVE_HOW"
  fi
}

install_build_tools

say "npm ci (installs the dependencies and builds the library)"
npm ci --no-audit --no-fund

# npm ci has run the build (the prepare script); build again in case prepare was skipped (--ignore-scripts).
[ -f dist/src/cli/main.js ] || { say "building (npm run build)"; npm run build; }

# npm ci runs the install script (native/install.js) too; run it here unless that built the addon, so its
# one-line outcome (built, or why not) is shown.
if [ ! -f native/build/Release/specter2_native.node ]; then
  say "building the native addon (node native/install.js)"
  node native/install.js
fi
if [ -f native/build/Release/specter2_native.node ]; then
  say "native backend available: --backend native (auto picks it)"
else
  say "native backend not built: using the wasm backend (works everywhere, slower). For native: $NATIVE_HOW"
fi

say "npm run demo"
npm run demo
say "done: embeddings.jsonl holds one embedding per paper of examples/papers.jsonl"
