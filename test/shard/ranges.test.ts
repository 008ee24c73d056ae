// Sharding math, table-driven: for many shard counts and awkward files (CRLF, blank lines, no final
// newline, lines longer than the read buffer, multi-byte UTF-8 where a nominal boundary falls), every
// line lands in exactly one shard, and reading the shards one after another gives the whole file's
// entries with the whole file's line numbers.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonlEntry } from "../../src/io/jsonl";
import { readJsonlEntries } from "../../src/io/jsonl";
import { countLinesIn, LinesBefore, readRange, splitLines } from "../../src/io/lines";
import { inputItems } from "../../src/pipeline/inputItems";
import { nominalBoundary, shardRange, shardRanges, parseShardSpec } from "../../src/shard/ranges";
import { seededRandom } from "../../convert/seededRandom";

const dir = mkdtempSync(join(tmpdir(), "shard-ranges-"));
let files = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `f${files++}.jsonl`);
  writeFileSync(path, content);
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A deterministic generator, so a failure reproduces. */
const random = seededRandom;

const WIDE = ["é", "ß", "漢", "字", "🧬", "𝔸", "\u00a0", "ﬀ"];
function randomCorpus(seed: number, lines: number): string {
  const r = random(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const kind = r();
    if (kind < 0.1) out.push(r() < 0.5 ? "" : " \t ");
    else if (kind < 0.15) out.push("{not json " + WIDE[Math.floor(r() * WIDE.length)]);
    else {
      const text = Array.from({ length: Math.floor(r() * 40) }, () => (r() < 0.4 ? WIDE[Math.floor(r() * WIDE.length)] : String.fromCharCode(97 + Math.floor(r() * 26)))).join("");
      out.push(JSON.stringify(r() < 0.5 ? { paper_id: `p${i}`, title: text, abstract: null } : { text }));
    }
  }
  const eol = r() < 0.5 ? "\n" : "\r\n";
  return out.join(eol) + (r() < 0.5 ? eol : "");
}

// name → content; each is split into every N of SHARD_COUNTS (and more shards than lines).
const FILES: [string, string | Buffer][] = [
  ["empty", ""],
  ["one line, no newline", '{"text": "a"}'],
  ["one line", '{"text": "a"}\n'],
  ["only newlines", "\n\n\n\n"],
  ["blank lines around", '\n  \n{"text": "x"}\n\t\n\n{"text": "y"}\n\n'],
  ["CRLF", '{"paper_id": 1, "title": "a"}\r\n{"paper_id": 2, "title": "b"}\r\n\r\n{"paper_id": 3, "title": "c"}'],
  ["CR without LF is not a line break", '{"text": "a"}\r{"text": "b"}\n{"text": "c"}\n'],
  ["BOM", '\uFEFF{"text": "first"}\n{"text": "second"}\n'],
  ["lines longer than the read buffer", [`{"text": "${"x".repeat(150_000)}"}`, '{"text": "short"}', `{"text": "${"é".repeat(70_000)}"}`, "", '{"text": "end"}'].join("\n")],
  ["a line longer than a shard", ['{"text": "a"}', `{"text": "${"y".repeat(5000)}"}`, '{"text": "b"}'].join("\n") + "\n"],
  ["multi-byte UTF-8 everywhere", Array.from({ length: 60 }, (_, i) => JSON.stringify({ paper_id: i, title: "🧬漢é".repeat((i % 7) + 1) })).join("\n")],
  ["invalid UTF-8 bytes", Buffer.concat([Buffer.from('{"text": "a'), Buffer.from([0xe2, 0x82]), Buffer.from('"}\n{"text": "\u00e9"}\n'), Buffer.from([0xff, 0x0a])])],
  ["random CRLF/LF corpus 1", randomCorpus(1, 200)],
  ["random CRLF/LF corpus 2", randomCorpus(2, 57)],
  ["random CRLF/LF corpus 3", randomCorpus(3, 400)],
];
const SHARD_COUNTS = [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 64];
// Buffers smaller than a line, and (on small files) smaller than a UTF-8 character, make the alignment loop work.
const buffersFor = (size: number) => (size < 2_000 ? [1, 3, 7, 64 << 10] : size < 20_000 ? [7, 64 << 10] : [4096, 64 << 10]);

/** Byte offsets where lines start (a line is everything up to and including "\n"; a final line may lack it). */
function lineStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < bytes.length;) {
    starts.push(at);
    const nl = bytes.indexOf(0x0a, at);
    at = nl === -1 ? bytes.length : nl + 1;
  }
  return starts;
}

/** An entry as comparable data: its line number and value, or its line number and message. */
const plain = (e: JsonlEntry) => ("error" in e ? { line: e.lineNumber, error: e.error.message } : { line: e.lineNumber, value: e.value });

describe("shard byte ranges", () => {
  test.each(FILES)("%s: every line lands in exactly one shard, for every shard count and buffer size", async (_name, content) => {
    const path = file(content);
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    const starts = lineStarts(bytes);
    const whole = (await collect(readJsonlEntries(path))).map(plain);
    const wholeLines = await collect(splitLines(readRange(path, { start: 0, end: bytes.length })));
    expect(wholeLines.length).toBe(starts.length);
    for (const n of [...SHARD_COUNTS, starts.length + 3]) {
      for (const buffer of buffersFor(bytes.length)) {
        const ranges = await shardRanges(path, n, buffer);
        expect(ranges).toHaveLength(n);
        // Tiling: from 0 to the end, each range starting where the one before ended.
        expect(ranges[0].start).toBe(0);
        expect(ranges[n - 1].end).toBe(bytes.length);
        ranges.forEach((r, k) => {
          expect(r.start).toBeLessThanOrEqual(r.end);
          if (k > 0) expect(r.start).toBe(ranges[k - 1].end);
          expect(r.start === 0 || r.start === bytes.length || bytes[r.start - 1] === 0x0a).toBe(true); // a line start
        });
        // Each line, known by its first byte, in exactly one range.
        for (const s of starts) expect(ranges.filter((r) => r.start <= s && s < r.end)).toHaveLength(1);
        // One shard alone computes the same range as the whole split.
        for (const k of [0, Math.floor(n / 2), n - 1]) expect(await shardRange(path, k, n, buffer)).toEqual(ranges[k]);
      }
      // Reading the shards one by one: the whole file's lines, entries and line numbers.
      const ranges = await shardRanges(path, n);
      const lines: string[] = [];
      const entries: ReturnType<typeof plain>[] = [];
      let counted = 0;
      for (const range of ranges) {
        lines.push(...(await collect(splitLines(readRange(path, range, bytes.length < 20_000 ? 5 : 4096))))); // chunks that split lines and characters
        const before = await new LinesBefore(path, range.start).count();
        if (range.end > range.start) expect(before).toBe(counted); // (an empty range at the end of a file without a final newline starts on no line)
        for (const e of await collect(readJsonlEntries(path, path, { range }))) {
          // The reader numbers a range's lines from 1 and names them so; re-based, they are the file's.
          const line = e.lineNumber + before;
          entries.push("error" in e ? { line, error: e.error.message.replace(`${path}:${e.lineNumber}:`, `${path}:${line}:`) } : { line, value: e.value });
        }
        const counts = await countLinesIn(path, range);
        counted += counts.lines;
      }
      expect(lines).toEqual(wholeLines);
      expect(entries).toEqual(whole);
      expect(counted).toBe(starts.length);
    }
  });

  test("the table does put nominal boundaries inside multi-byte characters and inside long lines", () => {
    const inside = (content: string, test: (bytes: Buffer, at: number) => boolean) => {
      const bytes = Buffer.from(content, "utf8");
      return SHARD_COUNTS.some((n) => Array.from({ length: n }, (_, k) => nominalBoundary(bytes.length, k, n)).some((at) => test(bytes, at)));
    };
    const utf8 = FILES.find(([name]) => name === "multi-byte UTF-8 everywhere")![1] as string;
    expect(inside(utf8, (bytes, at) => (bytes[at] & 0xc0) === 0x80)).toBe(true); // a continuation byte
    const long = FILES.find(([name]) => name === "lines longer than the read buffer")![1] as string;
    expect(inside(long, (bytes, at) => at > 70_000 && at < 140_000)).toBe(true);
  });

  test("line counts agree with the reader: non-blank lines are the entries it yields", async () => {
    for (const [, content] of FILES) {
      const path = file(content);
      const size = Buffer.byteLength(content);
      for (const range of await shardRanges(path, 5)) {
        const entries = await collect(readJsonlEntries(path, path, { range }));
        expect((await countLinesIn(path, range)).nonBlank).toBe(entries.length);
      }
      expect((await countLinesIn(path, { start: 0, end: size })).lines).toBe(lineStarts(Buffer.from(content)).length);
    }
  });

  test("boundaries are exact for files far beyond 2^53 / N bytes", () => {
    const size = 100e9 + 7; // a 100 GB corpus
    expect(nominalBoundary(size, 0, 1000)).toBe(0);
    expect(nominalBoundary(size, 1000, 1000)).toBe(size);
    expect(nominalBoundary(size, 999, 1000)).toBe(Number((BigInt(size) * 999n) / 1000n));
    expect(nominalBoundary(Number.MAX_SAFE_INTEGER, 3, 7)).toBe(Number((BigInt(Number.MAX_SAFE_INTEGER) * 3n) / 7n));
  });

  test("a missing input and a non-file are errors naming them", async () => {
    await expect(shardRange(join(dir, "nope.jsonl"), 0, 2)).rejects.toThrow(/nope\.jsonl: cannot read \(ENOENT\)/);
    await expect(shardRange(dir, 0, 2)).rejects.toThrow(/not a regular file/);
    await expect(shardRange(file("x\n"), 2, 2)).rejects.toThrow(/shard index must be an integer in 0…1, got 2/);
  });
});

describe("file line numbers of a shard", () => {
  /** LinesBefore that counts how often it had to read the prefix. */
  class Spy extends LinesBefore {
    reads = 0;
    override async count(): Promise<number> {
      if (this.known === null) this.reads++;
      return super.count();
    }
  }

  const withIds = Array.from({ length: 40 }, (_, i) => JSON.stringify({ paper_id: `p${i}`, title: `Paper ${i}`, abstract: "x" })).join("\n") + "\n";

  test("a shard whose records all carry ids never reads the bytes before its range", async () => {
    const path = file(withIds);
    const [, second] = await shardRanges(path, 2);
    const spy = new Spy(path, second.start);
    const items = await collect(inputItems(path, "[SEP]", second, spy));
    expect(items.length).toBeGreaterThan(0);
    expect(spy.reads).toBe(0);
    expect(spy.known).toBeNull();
    expect(items[0]).toMatchObject({ lineNumber: 1, id: `p${40 - items.length}` });
  });

  test("a record without an id, or a bad line, counts the lines before once and gets the file's line number", async () => {
    const lines = withIds.trim().split("\n");
    lines[30] = JSON.stringify({ title: "no id", abstract: null });
    lines[33] = "{broken";
    lines[35] = JSON.stringify({ paper_id: "q", title: 5 });
    const path = file(lines.join("\n") + "\n");
    const [, second] = await shardRanges(path, 2);
    const spy = new Spy(path, second.start);
    const items = await collect(inputItems(path, "[SEP]", second, spy));
    expect(spy.reads).toBe(1);
    const before = spy.known!;
    const at = (fileLine: number) => items.find((i) => i.lineNumber + before === fileLine)!;
    expect(at(31)).toMatchObject({ id: 31 }); // the default id is the file's line number, as in a single run
    expect(at(34)).toMatchObject({ fileLine: 34, error: expect.stringMatching(new RegExp(`^${path}:34: malformed JSON`)) });
    expect(at(36)).toMatchObject({ fileLine: 36, error: `${path}:36: "title" must be a string, got number 5` });
    // The same items as a single run over the whole file, line for line.
    const whole = await collect(inputItems(path, "[SEP]"));
    const rebased = items.map((i) => ({ ...i, lineNumber: i.lineNumber + before }));
    expect(rebased).toEqual(whole.filter((i) => i.lineNumber > before));
  });
});

describe("--shard specs", () => {
  const slurm = (id: number, min: number, max: number, count = max - min + 1) => ({
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_MIN: String(min),
    SLURM_ARRAY_TASK_MAX: String(max),
    SLURM_ARRAY_TASK_COUNT: String(count),
  });
  test.each([
    ["0/1", {}, undefined, { index: 0, count: 1 }],
    ["3/8", {}, undefined, { index: 3, count: 8 }],
    ["3/8", {}, 8, { index: 3, count: 8 }],
    ["slurm", slurm(2, 0, 3), undefined, { index: 2, count: 4 }],
    ["slurm", slurm(5, 1, 8), undefined, { index: 4, count: 8 }], // --array=1-8: minus the minimum
    ["slurm", slurm(3, 3, 3), 4, { index: 3, count: 4 }], // one task resubmitted (--array=3) with --shard-count
    ["slurm", slurm(5, 1, 7, 3), 8, { index: 5, count: 8 }], // --array=1,5,7
    ["k8s", { JOB_COMPLETION_INDEX: "6" }, 10, { index: 6, count: 10 }],
  ] as const)("%s with %j and --shard-count %s", (spec, env, count, expected) => {
    expect(parseShardSpec(spec, env, count)).toEqual(expected);
  });

  test.each([
    ["8/8", {}, undefined, /shard 8 is not in 0…7/],
    ["1/0", {}, undefined, /shard count must be at least 1/],
    ["3/8", {}, 4, /--shard 3\/8 says 8 shards, --shard-count says 4/],
    ["-1/4", {}, undefined, /--shard must be K\/N/],
    ["a/b", {}, undefined, /--shard must be K\/N/],
    ["slurm", {}, undefined, /SLURM_ARRAY_TASK_ID is not set: --shard slurm runs as a task of a job array/],
    ["slurm", { SLURM_ARRAY_TASK_ID: "2" }, undefined, /SLURM_ARRAY_TASK_COUNT is not set/],
    ["slurm", { SLURM_ARRAY_TASK_ID: "x" }, 4, /SLURM_ARRAY_TASK_ID="x" is not a non-negative integer/],
    ["slurm", slurm(5, 1, 7, 3), undefined, /not one contiguous range .*pass --shard-count N/],
    ["slurm", { SLURM_ARRAY_TASK_ID: "9" }, 8, /SLURM_ARRAY_TASK_ID=9 with --shard-count 8 .*shard 9 is not in 0…7/],
    ["k8s", {}, 4, /JOB_COMPLETION_INDEX is not set: --shard k8s runs in a pod of an Indexed Job/],
    ["k8s", { JOB_COMPLETION_INDEX: "1" }, undefined, /--shard k8s needs --shard-count N/],
    ["k8s", { JOB_COMPLETION_INDEX: "4" }, 4, /shard 4 is not in 0…3/],
    ["3/8", {}, 0, /--shard-count must be a positive integer, got 0/],
  ] as [string, Record<string, string>, number | undefined, RegExp][])("%s with %j and --shard-count %s is refused", (spec, env, count, message) => {
    expect(() => parseShardSpec(spec, env, count)).toThrow(message);
  });
});
