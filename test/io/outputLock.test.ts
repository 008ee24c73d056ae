// One writer per output: the lock file beside it, who holds it, when a holder is known to be gone, and that a
// holder ended by a signal removes it. (Two `specter2 embed` processes against one output: test/cli/embedOutput.test.ts.)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Specter2Error } from "../../src/errors";
import { lockPathFor, OutputLock } from "../../src/io/outputLock";
import { deadPid, waitFor } from "../helpers/hostileOutputs";

const dir = mkdtempSync(join(tmpdir(), "lock-test-"));
const ROOT = join(__dirname, "..", "..");

function refusal(output: string): Specter2Error {
  try {
    OutputLock.acquire(output).release();
  } catch (e) {
    return e as Specter2Error;
  }
  throw new Error(`the lock of ${output} was taken`);
}

const holder = (fields: Record<string, unknown>) =>
  JSON.stringify({ pid: 1, host: hostname(), since: "2030-01-01T00:00:00.000Z", startTicks: null, command: "specter2 embed …", token: "t", ...fields });

describe("OutputLock", () => {
  it("one holder at a time: another is refused, naming the holder; once released it can be taken again", () => {
    const out = join(dir, "a.jsonl");
    const lock = OutputLock.acquire(out);
    const held = JSON.parse(readFileSync(lockPathFor(out), "utf8"));
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), token: expect.any(String) });
    const error = refusal(out);
    expect([error.code, error.file]).toEqual(["OUTPUT_ERROR", out]);
    expect(error.message).toBe(
      `${out} is being written by another run: pid ${process.pid} on host ${hostname()} since ${held.since} (${held.command}); ` +
        `wait for it to finish, or stop it (kill ${process.pid}); a lock of a run that died is taken over by the next one`,
    );
    lock.release();
    lock.release();
    expect(existsSync(lockPathFor(out))).toBe(false);
    OutputLock.acquire(out).release();
  });

  it("a lock whose holder is gone on this host is taken over: a pid not running, or one running another process since", () => {
    const out = join(dir, "b.jsonl");
    for (const stale of [holder({ pid: deadPid() }), holder({ pid: process.pid, startTicks: -1 })]) {
      writeFileSync(lockPathFor(out), stale);
      const lock = OutputLock.acquire(out);
      expect(JSON.parse(readFileSync(lockPathFor(out), "utf8")).pid).toBe(process.pid);
      lock.release();
    }
  });

  it("a lock of another host, or one that cannot be read, is honoured, saying how to remove it", () => {
    const out = join(dir, "c d.jsonl");
    writeFileSync(lockPathFor(out), holder({ pid: deadPid(), host: "node-17" }));
    expect(refusal(out).message).toMatch(
      new RegExp(
        `is being written by another run: pid \\d+ on host node-17 .*; whether it still runs cannot be checked from ${hostname()}: if it is gone \\(its machine went down\\), remove the lock: rm '${out}\\.lock'$`,
      ),
    );
    writeFileSync(lockPathFor(out), "");
    expect(refusal(out).message).toBe(`${out} is locked by ${out}.lock, which is being written or is not a lock of specter2: if no run is writing ${out}, remove it: rm '${out}.lock'`);
  });

  it("a holder releases only its own lock: one that another run took over meanwhile stays", () => {
    const out = join(dir, "e.jsonl");
    const lock = OutputLock.acquire(out);
    writeFileSync(lockPathFor(out), holder({ pid: process.pid, token: "another" }));
    lock.release();
    expect(JSON.parse(readFileSync(lockPathFor(out), "utf8")).token).toBe("another");
  });

  it("a holder ended by SIGTERM removes its lock and exits 143", async () => {
    const out = join(dir, "f.jsonl");
    const script = `require(${JSON.stringify(join(ROOT, "dist", "src", "io", "outputLock.js"))}).OutputLock.acquire(${JSON.stringify(out)}); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitFor(() => existsSync(lockPathFor(out)), "the lock to be taken", 10_000);
      child.kill("SIGTERM");
      expect(await exited).toBe(143);
      expect(existsSync(lockPathFor(out))).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
