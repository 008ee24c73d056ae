// Reading embedding indexes (JSONL and .npy + ids) and titles from the papers file; every bad file gives an
// error that names the file and the line or row.
import { mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { npyHeader } from "../../src/io/npy";
import type { IndexRow } from "../../src/search/indexReader";
import { readIndex } from "../../src/search/indexReader";
import { titlesFor } from "../../src/search/search";

const dir = mkdtempSync(join(tmpdir(), "search-index-"));
let count = 0;

function file(name: string, text: string): string {
  const path = join(dir, `${count++}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** Strings are written as they are (to make malformed lines), anything else as JSON. */
const jsonl = (...values: unknown[]) => values.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("\n") + "\n";

/** A float32 .npy written from the format's definition (as numpy.save does), with its ids file. */
function npy(name: string, rows: number[][], ids: unknown[] = rows.map((_, i) => `p${i}`)): string {
  const path = join(dir, `${count++}-${name}.npy`);
  const cols = rows[0]?.length ?? 0;
  writeFileSync(path, Buffer.concat([npyHeader(rows.length, cols), Buffer.from(new Float32Array(rows.flat()).buffer)]));
  writeFileSync(path.replace(/\.npy$/, ".ids.jsonl"), ids.map((id) => `${JSON.stringify(id)}\n`).join(""));
  return path;
}

async function collect(rows: AsyncIterable<IndexRow>): Promise<{ id: unknown; embedding: number[]; title?: string }[]> {
  const out = [];
  for await (const r of rows) out.push({ ...r, embedding: Array.from(r.embedding) });
  return out;
}

describe("readIndex (JSONL)", () => {
  it("yields ids, embeddings and titles in file order, blank lines skipped", async () => {
    const path = file("ok.jsonl", jsonl({ paper_id: "a", embedding: [1, 2] }, "", { paper_id: 7, embedding: [0.5, -1], title: "T" }));
    expect(await collect(readIndex(path, 2))).toEqual([
      { id: "a", embedding: [1, 2] },
      { id: 7, embedding: [0.5, -1], title: "T" },
    ]);
  });

  it.each([
    ["a wrong dimension", jsonl({ paper_id: "a", embedding: [1, 2] }, { paper_id: "b", embedding: [1, 2, 3] }), ":2: embedding has 3 values, the model's hidden size is 2"],
    ["a malformed line", jsonl({ paper_id: "a", embedding: [1, 2] }, "", '{"paper_id": "b", "embedding": [1,'), ":3: malformed JSON"],
    ["a missing id", jsonl({ embedding: [1, 2] }), ':1: "paper_id" must be a string or a number, got nothing'],
    ["a non-number value", jsonl({ paper_id: "a", embedding: [1, "2"] }), ':1: embedding[1] is "2", not a finite number'],
    ["a null value", jsonl({ paper_id: "a", embedding: [null, 2] }), ":1: embedding[0] is null, not a finite number"],
    ["no embedding", jsonl({ paper_id: "a", vector: [1, 2] }), ':1: "embedding" must be an array of numbers'],
    ["not an object", jsonl([1, 2]), ':1: expected {"paper_id": …, "embedding": [...]}'],
  ])("%s is an error naming file:line", async (_, text, message) => {
    const path = file("bad.jsonl", text);
    await expect(collect(readIndex(path, 2))).rejects.toThrow(`${path}${message}`);
  });

  it("a missing file is an error naming it", async () => {
    await expect(collect(readIndex(join(dir, "none.jsonl"), 2))).rejects.toThrow(`${join(dir, "none.jsonl")}: cannot read (ENOENT)`);
  });
});

describe("readIndex (.npy + ids)", () => {
  it("yields each row with its id, across read blocks", async () => {
    // 300 rows of 1000 floats span two 1 MiB blocks (262 rows each).
    const rows = Array.from({ length: 300 }, (_, r) => Array.from({ length: 1000 }, (_, c) => r + c / 1000));
    const got = await collect(readIndex(npy("big", rows), 1000));
    expect(got.map((r) => r.id)).toEqual(rows.map((_, i) => `p${i}`));
    expect(got.map((r) => r.embedding)).toEqual(rows.map((row) => Array.from(new Float32Array(row))));
  });

  it("refuses rows of another width, naming the shape", async () => {
    const path = npy("wide", [[1, 2, 3]]);
    await expect(collect(readIndex(path, 2))).rejects.toThrow(`${path}: rows of 3 values (shape (1, 3)), the model's hidden size is 2`);
  });

  it("refuses a truncated file", async () => {
    const path = npy("cut", [
      [1, 2],
      [3, 4],
    ]);
    truncateSync(path, 128 + 12);
    await expect(collect(readIndex(path, 2))).rejects.toThrow(`${path}: 140 bytes, but shape (2, 2) needs 144: truncated`);
  });

  it("refuses an ids file with fewer or more ids than rows", async () => {
    const few = npy(
      "few",
      [
        [1, 2],
        [3, 4],
      ],
      ["a"],
    );
    await expect(collect(readIndex(few, 2))).rejects.toThrow(`${few.replace(/\.npy$/, ".ids.jsonl")}: has 1 ids, but ${few} has 2 rows`);
    const many = npy("many", [[1, 2]], ["a", "b"]);
    await expect(collect(readIndex(many, 2))).rejects.toThrow(`${many.replace(/\.npy$/, ".ids.jsonl")}:2: more ids than the 1 rows of ${many}`);
  });

  it("refuses a file that is not .npy", async () => {
    const path = file("fake.npy", "hello, world");
    await expect(collect(readIndex(path, 2))).rejects.toThrow(`${path}: not a .npy file`);
  });
});

describe("titlesFor", () => {
  it("finds titles by id as specter2 embed assigned them (id field, else line number), only for the ids asked", async () => {
    const papers = file("papers.jsonl", jsonl({ paper_id: "x1", title: "First", abstract: "a" }, "not json", { title: "Third, no id", abstract: null }, { id: 5, title: "Fourth" }));
    const titles = await titlesFor(papers, ["x1", 3, 5, "missing"]);
    expect(titles).toEqual(
      new Map([
        ['"x1"', "First"],
        ["3", "Third, no id"],
        ["5", "Fourth"],
      ]),
    );
  });
});
