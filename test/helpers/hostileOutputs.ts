// Where a user may point `specter2 embed --output` (or `convert --out`), and what else may be going on there, each a
// small function an attack test (or a rerunnable attacks suite) calls: a reader at the other end of a FIFO, a second
// writer of the same output, a run paused or killed mid-way, a lock left by a machine that went down, and a disk
// that fills (a file-size limit on the process, or write calls failing as on a full disk).
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
// The module object itself (a default import), whose functions the code under test looks up at each call.
import fs from "node:fs";

/** Resolves once `condition()` holds, polling every 20 ms; rejects, saying what it waited for, after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A process with its output collected and its end as a promise; killed (SIGKILL) if it outlives `timeoutMs`. */
export interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<Exited>;
}

export function startProcess(command: string, args: string[], { cwd, timeoutMs = 60_000 }: { cwd?: string; timeoutMs?: number } = {}): Running {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exited = new Promise<Exited>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stderr: () => stderr, exited };
}

/** The other end of a FIFO: `cat` reading it to its end (what a consumer of the output does); killed after `timeoutMs`
 *  if no writer ever comes. */
export function readFifo(path: string, timeoutMs = 60_000): Running {
  return startProcess("cat", [path], { timeoutMs });
}

/**
 * A writer caught in the middle of its work: `command args` started, then stopped (SIGSTOP) once `startedWhen()`
 * holds (its partial output or lock is there), so that another writer can be tried against it as long as needed.
 * `resume()` lets it go on (SIGCONT); `kill()` ends it where it stands.
 */
export async function pausedWriter(command: string, args: string[], startedWhen: () => boolean, cwd?: string): Promise<Running & { resume(): void; kill(): void }> {
  const running = startProcess(command, args, { cwd, timeoutMs: 120_000 });
  let ended = false;
  void running.exited.then(() => (ended = true));
  await waitFor(() => startedWhen() || ended, "the writer to start writing");
  if (ended) throw new Error(`the writer ended before it was paused:\n${running.stderr()}`);
  running.child.kill("SIGSTOP");
  return { ...running, resume: () => running.child.kill("SIGCONT"), kill: () => running.child.kill("SIGKILL") };
}

/** The id of a process that has exited (what a lock left by a killed run names). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  if (r.pid === undefined || r.status !== 0) throw new Error("could not start a short-lived process");
  return r.pid;
}

/**
 * Runs `command args` with its file-size limit (`ulimit -f`) at `blocks` blocks (512 or 1024 bytes, as the shell
 * counts): a write past it fails with EFBIG, as a write to a full disk fails with ENOSPC, without filling a disk.
 */
export function runWithFileSizeLimit(blocks: number, command: string, args: string[], cwd?: string): Exited {
  const r = spawnSync("/bin/sh", ["-c", `ulimit -f ${blocks} && exec "$0" "$@"`, command, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Makes every write, fsync and truncate of a file whose path `matches`, and every rename onto one, fail with `code`
 * (ENOSPC: what a full disk does) in this process, until the returned function is called. A descriptor's file is
 * read from /proc/self/fd (Linux), so files opened before are failed too.
 */
export function failWrites(matches: (path: string) => boolean, code = "ENOSPC"): () => void {
  const fail = (syscall: string, path: string) => Object.assign(new Error(`${code}: simulated failure, ${syscall} '${path}'`), { code, syscall, path });
  const pathOf = (fd: number) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  };
  const realRename = fs.renameSync;
  const spies = [
    ...(["writeSync", "fsyncSync", "ftruncateSync"] as const).map((name) => {
      const real = fs[name] as (...a: unknown[]) => unknown;
      return jest.spyOn(fs, name).mockImplementation(((fd: number, ...rest: unknown[]) => {
        const path = pathOf(fd);
        if (path !== undefined && matches(path)) throw fail(name.replace(/Sync$/, ""), path);
        return real(fd, ...rest);
      }) as never);
    }),
    jest.spyOn(fs, "renameSync").mockImplementation((from: fs.PathLike, to: fs.PathLike) => {
      if (matches(String(to))) throw fail("rename", String(to));
      realRename(from, to);
    }),
  ];
  return () => spies.forEach((s) => s.mockRestore());
}
