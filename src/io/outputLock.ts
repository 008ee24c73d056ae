// One writer per output: `<output>.lock`, created exclusively (O_EXCL: one creator wins, on local file systems and
// NFS v3+ alike), says who holds it. Another writer of the same output is refused at once, naming the holder, instead
// of appending the same rows to the same partial file. A lock whose holder is gone is taken over: on this host, a pid
// not running, or running another program since (its start time differs). A lock of another host cannot be checked
// from here and is honoured until removed by hand; the refusal gives the command. The holder removes it when done, on
// failure, and on SIGINT, SIGTERM and SIGHUP (a job cancelled by its scheduler), so only SIGKILL or a machine going
// down leaves one behind.
import { randomUUID } from "node:crypto";
import { constants, linkSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { constants as osConstants, hostname } from "node:os";
import { resolve } from "node:path";
import { Specter2Error } from "../errors";
import { closeFully, outputError, syncFully, writeFully } from "./fileWrites";

/** What a lock file holds (JSON). */
export interface LockHolder {
  pid: number;
  host: string;
  /** When it was taken (ISO 8601). */
  since: string;
  /** The holder's start time as the kernel counts it (/proc/<pid>/stat), where there is one: a pid that another
   *  process took after the holder died has another. */
  startTicks: number | null;
  /** The holder's command line, for people. */
  command: string;
  /** Unique per lock taken: a holder removes only its own. */
  token: string;
}

export function lockPathFor(output: string): string {
  return `${output}.lock`;
}

/** The locks this process holds, released together when a signal ends it. */
const held = new Set<OutputLock>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const lock of held) lock.release();
  process.exit(128 + osConstants.signals[signal]);
}

export class OutputLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {
    if (held.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
    held.add(this);
  }

  /** Takes the lock of `output` (the path its files are written beside), or throws OUTPUT_ERROR naming its holder. */
  static acquire(output: string): OutputLock {
    const path = lockPathFor(output);
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      startTicks: startTicks(process.pid),
      command: process.argv.slice(1).join(" "),
      token: randomUUID(),
    };
    // Released by a signal from before the file exists, so that no instant leaves it behind.
    const lock = new OutputLock(path, me.token);
    try {
      // A few rounds: a stale lock taken over may meanwhile be taken by another run, which then holds it.
      for (let round = 0; round < 3; round++) {
        if (createExclusive(path, JSON.stringify(me))) return lock;
        const text = readText(path);
        if (text === null) continue; // released meanwhile
        const holder = parseHolder(text);
        if (holder === null || !isGone(holder)) throw heldError(output, path, holder);
        takeOver(path, text);
      }
      throw new Specter2Error("OUTPUT_ERROR", `${path}: other runs keep taking this lock; run one writer of ${output} at a time`, { file: output });
    } catch (e) {
      lock.release(); // removes nothing but its own
      throw e;
    }
  }

  /** Removes the lock if it is still this one (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this);
    if (held.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
    const text = readText(this.path);
    if (text !== null && parseHolder(text)?.token === this.token) rmSync(this.path, { force: true });
  }
}

/** Creates `path` holding `text` if nothing is there; false if something is. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw outputError(e, path, "create");
  }
  try {
    writeFully(fd, Buffer.from(`${text}\n`, "utf8"), path);
    syncFully(fd, path);
  } catch (e) {
    closeFully(fd, path);
    rmSync(path, { force: true });
    throw e;
  }
  closeFully(fd, path);
  return true;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder> | null;
    return h !== null && typeof h === "object" && Number.isSafeInteger(h.pid) && typeof h.host === "string" ? (h as LockHolder) : null;
  } catch {
    return null; // being written by its holder this instant, or not a lock of ours: honoured either way
  }
}

/** Whether the holder is known to be gone: only on this host, where its process can be looked at. */
function isGone(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: running, as another user
  }
  const now = startTicks(holder.pid);
  return typeof holder.startTicks === "number" && now !== null && now !== holder.startTicks;
}

/**
 * Removes a stale lock without removing one that another run took in the meantime: the lock is renamed aside (one
 * rename of it succeeds), and if what was moved is not the stale lock read before, it is put back.
 */
function takeOver(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // removed meanwhile
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      /* yet another lock is there now: it holds */
    }
  }
  rmSync(aside, { force: true });
}

function heldError(output: string, path: string, holder: LockHolder | null): Specter2Error {
  const remove = `rm ${shellWord(resolve(path))}`;
  if (holder === null) {
    return new Specter2Error("OUTPUT_ERROR", `${output} is locked by ${path}, which is being written or is not a lock of specter2: if no run is writing ${output}, remove it: ${remove}`, {
      file: output,
    });
  }
  const who = `${output} is being written by another run: pid ${holder.pid} on host ${holder.host} since ${holder.since}${holder.command ? ` (${holder.command})` : ""}`;
  const what =
    holder.host === hostname()
      ? `wait for it to finish, or stop it (kill ${holder.pid}); a lock of a run that died is taken over by the next one`
      : `whether it still runs cannot be checked from ${hostname()}: if it is gone (its machine went down), remove the lock: ${remove}`;
  return new Specter2Error("OUTPUT_ERROR", `${who}; ${what}`, { file: output });
}

/** `word` as one shell word: as it is when it holds nothing the shell treats specially, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), null where it cannot be read. */
function startTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command (field 2) is in parentheses and may hold spaces: fields 3… follow the last ")".
  const value = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  return Number.isSafeInteger(value) ? value : null;
}
