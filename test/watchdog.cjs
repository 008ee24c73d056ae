// A jest reporter that turns a hung test file into a failure naming it. It runs in jest's parent process, whose
// event loop stays free while the test files run in workers, so it fires even where a file is stuck in native code or
// a worker stops answering (where jest's own per-test timeout, which runs inside the worker, cannot fire).
//   - Every `reportEverySeconds` without a file finishing, it prints the files running and for how long.
//   - A file running past `fileBoundSeconds` fails the run: it prints the file's name, kills jest's workers and exits 1.
// The bound is a file's whole run under CI's two workers, far above the slowest file's (CONTRIBUTING.md, "Tests").
"use strict";
const { readdirSync, readFileSync } = require("node:fs");
const { relative } = require("node:path");

class Watchdog {
  constructor(globalConfig, options = {}) {
    this.root = globalConfig.rootDir;
    this.boundMs = (Number(process.env.SPECTER2_TEST_FILE_BOUND_SECONDS) || options.fileBoundSeconds || 900) * 1000;
    this.reportMs = (options.reportEverySeconds || 120) * 1000;
    this.running = new Map();
    this.lastProgress = Date.now();
    this.timer = null;
  }

  onRunStart() {
    this.timer = setInterval(() => this.check(), 5000);
    this.timer.unref();
  }

  onTestFileStart(test) {
    this.running.set(test.path, Date.now());
  }

  onTestFileResult(test) {
    this.running.delete(test.path);
    this.lastProgress = Date.now();
  }

  onRunComplete() {
    clearInterval(this.timer);
  }

  check() {
    const now = Date.now();
    const late = [...this.running].find(([, started]) => now - started > this.boundMs);
    if (late) {
      const [path, started] = late;
      process.stderr.write(
        `\njest watchdog: ${relative(this.root, path)} has run ${Math.round((now - started) / 1000)} s, past the bound of ` +
          `${this.boundMs / 1000} s for one test file: failing the run (still running: ${this.describe(now)})\n`,
      );
      killDescendants(process.pid);
      process.exit(1);
    }
    if (this.running.size > 0 && now - this.lastProgress > this.reportMs) {
      process.stderr.write(`\njest watchdog: no test file finished for ${Math.round((now - this.lastProgress) / 1000)} s; running: ${this.describe(now)}\n`);
      this.lastProgress = now;
    }
  }

  describe(now) {
    return [...this.running].map(([path, started]) => `${relative(this.root, path)} (${Math.round((now - started) / 1000)} s)`).join(", ");
  }
}

/** SIGKILLs every process below `pid` (jest's workers and whatever they started), read from /proc where it exists:
 *  a worker stuck in native code would not end on a polite signal, and would keep CI waiting. */
function killDescendants(pid) {
  let entries;
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return;
  }
  const children = new Map();
  for (const e of entries) {
    try {
      const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${e}/status`, "utf8"))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const below = [];
  const walk = (p) => (children.get(p) ?? []).forEach((c) => (below.push(c), walk(c)));
  walk(pid);
  for (const p of below) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

module.exports = Watchdog;
