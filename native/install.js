// npm's install step: builds the oneDNN addon where a compiler and oneDNN are present. It never fails
// the install and never downloads: where something is missing it says so in one line and exits 0
// (`--backend native` is then unavailable; the other backends are unaffected).
"use strict";
const { spawnSync } = require("node:child_process");
const { closeSync, existsSync, openSync, writeSync } = require("node:fs");
const { dirname, join, resolve } = require("node:path");

const HOW = "to get it: apt-get install -y build-essential libdnnl-dev (macOS: brew install onednn), then npm rebuild specter2-tfjs";

// npm (7+) runs a dependency's install script in the background and shows its output only when it fails
// (or with --foreground-scripts). The outcome is one line a user wants to see, so where npm hides it and a
// terminal is there, it also goes to the terminal directly.
function report(line) {
  console.log(line);
  if (process.stdout.isTTY || process.env.npm_config_foreground_scripts === "true" || !process.env.npm_lifecycle_event) return;
  try {
    const tty = openSync("/dev/tty", "w");
    writeSync(tty, `\r\x1b[2K${line}\n`); // from the line's start, over npm's progress spinner
    closeSync(tty);
  } catch {
    // no terminal (CI, Windows): npm install --foreground-scripts shows the line; `specter2 info` says whether native is built
  }
}

function skip(why) {
  report(`specter2-tfjs: native backend not built (${why}); --backend native is unavailable, the others work. ${HOW}`);
  process.exit(0);
}

function runs(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.status === 0;
}

function onednnFound() {
  const prefixes = ["/usr", "/usr/local", "/opt/homebrew", process.env.DNNLROOT].filter(Boolean);
  return prefixes.some((p) => existsSync(join(p, "include", "oneapi", "dnnl", "dnnl.hpp")));
}

// node-gyp ships inside npm; npm names it in npm_config_node_gyp while running scripts.
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p));
}

// Headers of the running Node, so node-gyp has no reason to download them.
function nodeDir() {
  const dirs = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), "..")].filter(Boolean);
  return dirs.find((d) => existsSync(join(d, "include", "node", "node_api.h")) && existsSync(join(d, "include", "node", "common.gypi")));
}

function main() {
  if (!runs(process.env.CXX || "c++", ["--version"])) skip("no C++ compiler");
  if (!runs("make", ["--version"])) skip("no make");
  if (!onednnFound()) skip("oneDNN headers not found");
  const gyp = nodeGyp();
  if (!gyp) skip("node-gyp not found");
  const dir = nodeDir();
  if (!dir) skip(`Node ${process.version} headers not found next to ${process.execPath}`);
  const r = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${dir}`], { cwd: __dirname, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) {
    const lines = `${r.stdout || ""}${r.stderr || ""}`.split("\n");
    const error = lines.find((l) => /error/i.test(l) && !/^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok))/.test(l));
    skip(`the build failed: ${(error || r.error?.message || `exit ${r.status}`).trim()}`);
  }
  report("specter2-tfjs: native backend built (oneDNN); use it with --backend native");
}

try {
  main();
} catch (e) {
  skip(`the install script failed: ${e.message}`);
}
