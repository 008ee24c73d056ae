// Bounded lines and the digest of what was read: a line over the limit is measured and refused, never joined or
// decoded; InputDigest gives the sha256 of exactly the lines consumed, and checks a resumed run's input against it.
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DEFAULT_MAX_LINE_BYTES, readJsonlEntries } from "../../src/io/jsonl";
import type { TooLongLine } from "../../src/io/lines";
import { InputDigest, splitLinesBounded } from "../../src/io/lines";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The bytes as a stream of `size`-byte chunks (lines and characters split anywhere). */
const chunked = (bytes: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const show = (l: string | TooLongLine) => (typeof l === "string" ? l : `too long: ${l.bytes}`);

describe("splitLinesBounded", () => {
  const limit = 100;
  const text = ["a".repeat(100), "b".repeat(101), `${"c".repeat(100)}\r`, "é".repeat(51), "d", "e".repeat(250), "", "last ".repeat(30)].join("\n");
  const expected = ["a".repeat(100), "too long: 101", "c".repeat(100), "too long: 102", "d", "too long: 250", "", "too long: 150"];

  test.each([1, 3, 64, 1 << 16])("a line over the limit is a TooLongLine with its size, in chunks of %i bytes", async (size) => {
    const lines = await collect(splitLinesBounded(chunked(Buffer.from(text), size), { maxLineBytes: limit }));
    expect(lines.map(show)).toEqual(expected);
  });

  test("without a limit every line is a string", async () => {
    const lines = await collect(splitLinesBounded(chunked(Buffer.from(text), 7)));
    expect(lines).toEqual(text.split("\n").map((l) => l.replace(/\r$/, "")));
  });

  test("the default limit is 64 MiB", () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(64 * 1024 * 1024);
  });
});

describe("readJsonlEntries with maxLineBytes", () => {
  test("refuses a line slightly over the limit naming file and line, and reads on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lines-"));
    const path = join(dir, "in.jsonl");
    const long = JSON.stringify({ title: "x".repeat(1000) }); // 1012 bytes
    writeFileSync(path, [JSON.stringify({ title: "short" }), "", long, JSON.stringify({ title: "after" })].join("\n"));
    const entries = await collect(readJsonlEntries(path, path, { maxLineBytes: 1011 }));
    expect(entries.map((e) => ("error" in e ? `${e.lineNumber}: ${e.error.message}` : `${e.lineNumber}: ok`))).toEqual([
      "1: ok",
      `3: ${path}:3: line of 1012 bytes is longer than the limit of 1011 bytes: not read`,
      "4: ok",
    ]);
    const bad = entries[1] as { error: { code: string; file: string; line: number } };
    expect([bad.error.code, bad.error.file, bad.error.line]).toEqual(["BAD_INPUT", path, 3]);
    // At the limit it is read.
    expect((await collect(readJsonlEntries(path, path, { maxLineBytes: 1012 }))).every((e) => !("error" in e))).toBe(true);
  });
});

describe("InputDigest", () => {
  const lines = ['{"a": 1}', "", '{"b": 2}', "x".repeat(300), '{"c": 3}', '{"d": 4}'];
  const bytes = Buffer.from(lines.join("\n") + "\n");
  /** Bytes through line n (1-based), its "\n" included. */
  const through = (n: number) => Buffer.from(lines.slice(0, n).join("\n") + "\n");

  async function readAll(digest: InputDigest, onLine?: (n: number) => void, size = 5): Promise<void> {
    let n = 0;
    for await (const _ of splitLinesBounded(chunked(bytes, size), { maxLineBytes: 100, digest })) {
      void _;
      onLine?.(++n);
    }
  }

  test("through(n) after line n is the sha256 of lines 1..n; before the latest line when that is not n", async () => {
    const digest = new InputDigest();
    const seen: string[] = [];
    await readAll(digest, (n) => {
      const now = digest.through(n);
      expect(now).toEqual({ bytes: through(n).length, sha256: sha256(through(n)) });
      // A run stopped by line n (a bad line) records the input before it.
      if (n > 1) expect(digest.through(n - 1)).toEqual({ bytes: through(n - 1).length, sha256: sha256(through(n - 1)) });
      seen.push(`${n}`);
    });
    expect(seen).toHaveLength(lines.length);
  });

  test("a resumed read passes an unchanged prefix and refuses a changed, cut or shorter one", async () => {
    for (const n of [1, 3, 4, 5]) {
      const prefix = { bytes: through(n).length, sha256: sha256(through(n)) };
      const mismatch = jest.fn((detail: string) => new Error(`changed: ${detail}`));
      await readAll(new InputDigest({ ...prefix, mismatch }));
      expect(mismatch).not.toHaveBeenCalled();

      const other = { bytes: prefix.bytes, sha256: sha256("something else"), mismatch };
      await expect(readAll(new InputDigest(other))).rejects.toThrow(new RegExp(`changed: the sha256 of its first ${prefix.bytes} bytes is ${prefix.sha256}, it was`));
      await expect(readAll(new InputDigest({ ...prefix, bytes: prefix.bytes - 1, mismatch }))).rejects.toThrow(`changed: no line ends at byte ${prefix.bytes - 1} any more`);
    }
    const mismatch = (detail: string) => new Error(`changed: ${detail}`);
    await expect(readAll(new InputDigest({ bytes: bytes.length + 10, sha256: "0", mismatch }))).rejects.toThrow(
      `changed: it now has ${bytes.length} bytes, fewer than the ${bytes.length + 10} the interrupted run had read`,
    );
  });

  test("the check fires before the reader hands out the line after the prefix", async () => {
    const prefix = { bytes: through(3).length, sha256: sha256("changed"), mismatch: () => new Error("changed") };
    const handed: number[] = [];
    await expect(readAll(new InputDigest(prefix), (n) => handed.push(n))).rejects.toThrow("changed");
    expect(handed).toEqual([1, 2]);
  });
});
