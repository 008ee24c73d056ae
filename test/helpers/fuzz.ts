// Shared pieces of the parser fuzz targets: byte mutations of real files, and the check that one case ended well
// (a result or a clear error, in bounded time, without a large allocation).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";

/** A hang shows up as a case far slower than this; real parses of these inputs take well under 10 ms. */
export const CASE_TIME_LIMIT_MS = 2000;
/** Parsers return views into their input; copies (strided tensors, decoded strings) stay within a few times its size. */
export const ALLOCATION_FACTOR = 16;
const ALLOCATION_SLACK_BYTES = 4 << 20;

/** What V8 says when code trips over a value it did not expect: a crash dressed as an error, never a clear one. */
const INTERNAL_ERROR =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Offset is outside the bounds|Invalid array length|Invalid typed array length|Maximum call stack|Array buffer allocation failed|\[object Object\]|undefined \(reading/;

export type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

/** Called with every case's outcome once checked; the long fuzz run (test/reliability/fuzz.test.ts) counts results and refusals with it. */
export const outcomeObservers: ((outcome: Outcome) => void)[] = [];

/**
 * Runs one case and checks it ended well: a value, or an Error whose message names `source` and is not a
 * runtime crash; within CASE_TIME_LIMIT_MS; growing external memory by at most ALLOCATION_FACTOR × the input.
 * Jest's expect fails the property (fast-check then shrinks the input).
 */
export function runCase(source: string, inputBytes: number, run: () => unknown): Outcome {
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: run() };
  } catch (e) {
    outcome = { ok: false, error: e as Error };
  }
  checkEnd(source, inputBytes, started, before, outcome);
  return outcome;
}

/** runCase for asynchronous parsers (the JSONL reader). */
export async function runCaseAsync(source: string, inputBytes: number, run: () => Promise<unknown>): Promise<Outcome> {
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: await run() };
  } catch (e) {
    outcome = { ok: false, error: e as Error };
  }
  checkEnd(source, inputBytes, started, before, outcome);
  return outcome;
}

function checkEnd(source: string, inputBytes: number, started: number, memoryBefore: number, outcome: Outcome): void {
  const elapsed = performance.now() - started;
  const grown = process.memoryUsage().arrayBuffers - memoryBefore;
  if (!outcome.ok) {
    const { error } = outcome;
    // Errors from Node's built-ins come from another realm than jest's, so `instanceof Error` would not do.
    if (typeof error?.message !== "string") throw new Error(`${source}: threw a non-Error ${String(error)}`);
    if (!error.message.includes(source)) throw new Error(`error does not name its source "${source}": ${error.message}`);
    if (INTERNAL_ERROR.test(error.message)) throw new Error(`runtime crash instead of a clear error: ${error.stack}`);
  }
  if (elapsed > CASE_TIME_LIMIT_MS) throw new Error(`${source}: case took ${elapsed.toFixed(0)} ms (limit ${CASE_TIME_LIMIT_MS})`);
  if (grown > ALLOCATION_FACTOR * inputBytes + ALLOCATION_SLACK_BYTES) {
    throw new Error(`${source}: external memory grew by ${grown} bytes for a ${inputBytes}-byte input`);
  }
  for (const observe of outcomeObservers) observe(outcome);
}

/** One edit of a byte string; positions are taken modulo its length when applied. */
export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "huge"; at: number; width: 2 | 4 | 8; value: bigint }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "copy"; from: number; to: number; length: number };

/** Lengths and counts that break naive readers: all ones, sign bits, and 100 GB. */
const HUGE_VALUES = [0xffffn, 0x7fffn, 0xffffffffn, 0x7fffffffn, 0x80000000n, 100_000_000_000n, (1n << 63n) - 1n, (1n << 64n) - 1n];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("huge" as const), at: fc.nat(), width: fc.constantFrom(2 as const, 4 as const, 8 as const), value: fc.constantFrom(...HUGE_VALUES) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("copy" as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input);
  for (const m of mutations) {
    const n = bytes.length;
    if (n === 0) return bytes;
    switch (m.kind) {
      case "flip":
        bytes[m.at % n] ^= 1 << m.bit;
        break;
      case "set":
        bytes[m.at % n] = m.value;
        break;
      case "truncate":
        bytes = bytes.slice(0, m.at % n);
        break;
      case "huge": {
        const at = m.at % n;
        for (let i = 0; i < m.width && at + i < n; i++) bytes[at + i] = Number((m.value >> BigInt(8 * i)) & 0xffn);
        break;
      }
      case "insert": {
        const at = m.at % (n + 1);
        bytes = concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
        break;
      }
      case "delete": {
        const at = m.at % n;
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + m.length));
        break;
      }
      case "copy": {
        const chunk = bytes.slice(m.from % n, (m.from % n) + m.length);
        bytes.set(chunk.subarray(0, n - (m.to % n)), m.to % n);
        break;
      }
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A seed file with zero to eight mutations applied. */
export function mutatedArb(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(mutationArb, { minLength: 0, maxLength: 8 })).map(([seed, mutations]) => mutate(seed, mutations));
}

/** Every file under `dir` (recursively) whose name ends with `suffix` and that is at most `maxBytes` long. */
export function seedFiles(dir: string, suffix: string, maxBytes = 1 << 20): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...seedFiles(path, suffix, maxBytes));
    else if (entry.name.endsWith(suffix) && statSync(path).size <= maxBytes) out.push(new Uint8Array(readFileSync(path)));
  }
  return out;
}

/** Fixed seed in CI so a failure reproduces; the long fuzz run (test/reliability/fuzz.test.ts) takes a fresh one and a time budget. */
export const CI_SEED = 20261125;
