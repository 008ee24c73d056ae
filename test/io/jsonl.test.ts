// The streaming JSONL reader: line numbers, blank lines, malformed lines, files and streams.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { JsonlError, readJsonl, readJsonlEntries } from "../../src/io/jsonl";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function tempFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "jsonl-")), "in.jsonl");
  writeFileSync(path, text);
  return path;
}

test("yields each line's value with its line number; blank lines are skipped but counted", async () => {
  const path = tempFile('\uFEFF{"a": 1}\n\n  \t\n[1, 2]\r\n"x"\n{"b": "é 🧬"}');
  expect(await collect(readJsonl(path))).toEqual([
    { lineNumber: 1, value: { a: 1 } },
    { lineNumber: 4, value: [1, 2] },
    { lineNumber: 5, value: "x" },
    { lineNumber: 6, value: { b: "é 🧬" } },
  ]);
});

test("reads a stream such as stdin, named <stdin> in errors", async () => {
  const stream = Readable.from(['{"a":', ' 1}\n{"a": 2}\n', "{oops\n"]);
  const seen: unknown[] = [];
  await expect(
    (async () => {
      for await (const { value } of readJsonl(stream)) seen.push(value);
    })(),
  ).rejects.toThrow("<stdin>:3: malformed JSON");
  expect(seen).toEqual([{ a: 1 }, { a: 2 }]);
});

test("a malformed line is a JsonlError naming the file and line, after the lines before it", async () => {
  const path = tempFile('{"a": 1}\n\n{"a": 2,}\n{"a": 3}\n');
  const seen: number[] = [];
  let error: unknown;
  try {
    for await (const { lineNumber } of readJsonl(path)) seen.push(lineNumber);
  } catch (e) {
    error = e;
  }
  expect(seen).toEqual([1]);
  expect(error).toBeInstanceOf(JsonlError);
  expect((error as JsonlError).message).toMatch(new RegExp(`^${path}:3: malformed JSON: `));
  expect((error as JsonlError).lineNumber).toBe(3);
});

test("readJsonlEntries reports bad lines and goes on", async () => {
  const entries = await collect(readJsonlEntries(tempFile("1\nnope\n\u00a0\n3\n")));
  expect(entries.map((e) => ("error" in e ? `error ${e.lineNumber}` : e.value))).toEqual([1, "error 2", "error 3", 3]);
});

test("a missing file is an error naming it", async () => {
  await expect(collect(readJsonl("/nonexistent/in.jsonl"))).rejects.toThrow("/nonexistent/in.jsonl: cannot read (ENOENT)");
});

test("reads a large file line by line", async () => {
  const n = 20_000;
  const path = tempFile(Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: "x".repeat(50) })).join("\n"));
  let count = 0;
  for await (const { lineNumber, value } of readJsonl(path)) {
    expect((value as { id: number }).id).toBe(lineNumber - 1);
    count++;
  }
  expect(count).toBe(n);
});
