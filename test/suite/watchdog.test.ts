// The suite cannot hang: test/watchdog.cjs, jest's reporter in CI, fails a run whose test file outlives its bound,
// naming the file, and ends the workers. Run here on a file that blocks its worker's thread forever (where jest's own
// per-test timeout cannot fire), with a bound of a few seconds.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const JEST = join(ROOT, "node_modules", "jest", "bin", "jest.js");

it("a test file past its bound fails the run within seconds, naming it, and leaves no worker behind", async () => {
  const config = {
    rootDir: ROOT,
    roots: ["<rootDir>/test/fixtures/hang"],
    testMatch: ["**/*.check.js"],
    testTimeout: 600_000,
    maxWorkers: 2,
    reporters: ["default", ["<rootDir>/test/watchdog.cjs", { reportEverySeconds: 1 }]],
  };
  const started = Date.now();
  const child = spawn(process.execPath, [JEST, "--config", JSON.stringify(config)], {
    env: { ...process.env, SPECTER2_TEST_FILE_BOUND_SECONDS: "4" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // jest's workers, seen while it runs: its child processes.
  const workers = new Set<number>();
  const watch = setInterval(() => {
    try {
      for (const pid of execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" })
        .split(/\s+/)
        .filter(Boolean))
        workers.add(Number(pid));
    } catch {
      // no child at this moment (ps exits 1)
    }
  }, 250);
  // Were the watchdog broken, the run would hang for good: give up after 90 s and fail.
  const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(killer);
  clearInterval(watch);
  const seconds = (Date.now() - started) / 1000;
  expect(code).toBe(1);
  expect(stderr).toMatch(/jest watchdog: test\/fixtures\/hang\/hangs\.check\.js has run \d+ s, past the bound of 4 s/);
  expect(stderr).not.toMatch(/finishes\.check\.js has run/);
  // The bound (4 s) plus jest's start and the watchdog's 5 s tick, far below the 90 s give-up.
  expect(seconds).toBeLessThan(60);
  // The blocked worker is gone too: it was seen, and within a few seconds (a SIGKILLed process still takes a moment
  // to be reaped) no process of that run is left.
  expect(workers.size).toBeGreaterThan(0);
  const alive = () =>
    [...workers].filter((pid) => {
      try {
        process.kill(pid, 0);
        return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 50 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(alive()).toEqual([]);
});
