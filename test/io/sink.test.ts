// Resumable outputs: what an interrupted run leaves, and what --resume makes of it. The .npy bytes are
// checked against the format's definition (numpy's format spec), and loaded by numpy in the CLI tests.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNpyHeader } from "../../src/io/npy";
import type { Specter2Error } from "../../src/errors";
import type { RunRecord } from "../../src/pipeline/sink";
import { EmbeddingSink, errorsPathFor, idsPathFor } from "../../src/pipeline/sink";
import { failWrites } from "../helpers/hostileOutputs";

const dir = mkdtempSync(join(tmpdir(), "sink-test-"));
const row = (id: string | number, ...values: number[]) => ({ id, embedding: new Float32Array(values) });

describe("EmbeddingSink", () => {
  it("publishes JSONL only on finish, in the order written", () => {
    const out = join(dir, "a.jsonl");
    const sink = EmbeddingSink.open(out, "jsonl", false);
    sink.write([row("p1", 1, 2), row(7, 0.5, -1)], 2);
    expect(existsSync(out)).toBe(false);
    sink.finish();
    const lines = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { paper_id: "p1", embedding: [1, 2] },
      { paper_id: 7, embedding: [0.5, -1] },
    ]);
    expect(existsSync(`${out}.partial`) || existsSync(`${out}.progress.json`)).toBe(false);
  });

  it("refuses to silently overwrite an interrupted run, and resumes it after the last recorded flush", () => {
    const out = join(dir, "b.jsonl");
    const first = EmbeddingSink.open(out, "jsonl", false);
    first.write([row("x", 1)], 3);
    first.close();
    // A crash after appending but before recording progress leaves stray bytes: resume must drop them.
    appendFileSync(`${out}.partial`, '{"paper_id": "half');
    expect(() => EmbeddingSink.open(out, "jsonl", false)).toThrow(/b\.jsonl\.partial is left from an interrupted run: pass --resume/);
    const second = EmbeddingSink.open(out, "jsonl", true);
    expect(second.resumedAfterLine).toBe(3);
    expect(second.rowsWritten).toBe(1);
    second.write([row("y", 2)], 5);
    second.finish();
    expect(readFileSync(out, "utf8")).toBe('{"paper_id":"x","embedding":[1]}\n{"paper_id":"y","embedding":[2]}\n');
  });

  it("writes a float32 .npy with its shape and a row-ordered ids file, across a resume", () => {
    const out = join(dir, "c.npy");
    const first = EmbeddingSink.open(out, "npy", false);
    first.write([row("a", 1, 2, 3)], 1);
    first.close();
    const second = EmbeddingSink.open(out, "npy", true);
    second.write([row(2, 4, 5, 6), row("c", 7, 8, 9)], 4);
    second.finish();
    const bytes = readFileSync(out);
    // numpy's format 1.0: magic, version 1.0, little-endian header length, dict, newline.
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = bytes.subarray(10, 10 + headerLength).toString("latin1");
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 3\), \} *\n$/);
    expect(parseNpyHeader(bytes, out)).toEqual({ rows: 3, cols: 3, dataOffset: 10 + headerLength });
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.byteLength));
    expect(Array.from(values)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(readFileSync(idsPathFor(out), "utf8")).toBe('"a"\n2\n"c"\n');
  });

  it("refuses to resume a run that read something else (a shard's range of an input that changed)", () => {
    const out = join(dir, "e.jsonl");
    const first = EmbeddingSink.open(out, "jsonl", false, "bytes 0–100 of in.jsonl (400 bytes)");
    first.write([row(1, 1)], 1);
    first.close();
    expect(() => EmbeddingSink.open(out, "jsonl", true, "bytes 0–120 of in.jsonl (480 bytes)")).toThrow(
      /the interrupted run read bytes 0–100 of in\.jsonl \(400 bytes\), this one reads bytes 0–120 of in\.jsonl \(480 bytes\)/,
    );
    const same = EmbeddingSink.open(out, "jsonl", true, "bytes 0–100 of in.jsonl (400 bytes)");
    expect(same.rowsWritten).toBe(1);
    same.close();
  });

  it("refuses to resume a run of another format", () => {
    const out = join(dir, "d.jsonl");
    const s = EmbeddingSink.open(out, "jsonl", false);
    s.write([row(1, 1)], 1);
    s.close();
    writeFileSync(`${out}.progress.json`, JSON.stringify({ version: 2, format: "npy", rows: 1, lastLine: 1, dataBytes: 10, idsBytes: 0, dim: 1 }));
    expect(() => EmbeddingSink.open(out, "jsonl", true)).toThrow(/the interrupted run wrote npy, this one asks for jsonl/);
  });

  it("refuses a progress record of an earlier version, which did not record what made the output", () => {
    const out = join(dir, "v1.jsonl");
    EmbeddingSink.open(out, "jsonl", false).close();
    writeFileSync(`${out}.progress.json`, JSON.stringify({ format: "jsonl", rows: 0, lastLine: 0, dataBytes: 0, idsBytes: 0, dim: null }));
    expect(() => EmbeddingSink.open(out, "jsonl", true)).toThrow(
      /v1\.jsonl\.progress\.json: written by an earlier specter2-tfjs, which did not record what made the output; this one reads version 2 and cannot resume it/,
    );
  });

  it("records what made the output and the input consumed; a resume made otherwise is refused naming each change", () => {
    const out = join(dir, "run.npy");
    const run: RunRecord = {
      model: { dir: "/models/a", manifestSha256: "a".repeat(64) },
      adapter: "proximity",
      maxLength: 512,
      hiddenSize: 2,
      input: { path: "/in.jsonl", size: 1000 },
    };
    const first = EmbeddingSink.open(out, "npy", false, undefined, run);
    first.write([row("p", 1, 2)], 3, { bytes: 120, sha256: "c".repeat(64) });
    first.close();
    const saved = JSON.parse(readFileSync(`${out}.progress.json`, "utf8"));
    expect(saved).toMatchObject({ version: 2, rows: 1, lastLine: 3, dim: 2, run, input: { bytes: 120, sha256: "c".repeat(64) } });

    const other = { ...run, model: { dir: "/models/b", manifestSha256: "b".repeat(64) }, hiddenSize: 3, adapter: "adhoc_query", maxLength: 256 };
    let error: Specter2Error | undefined;
    try {
      EmbeddingSink.open(out, "npy", true, undefined, other);
    } catch (e) {
      error = e as Specter2Error;
    }
    expect(error?.code).toBe("OUTPUT_ERROR");
    expect(error?.field).toBe("model");
    expect(error?.message).toBe(
      `${out}.progress.json: cannot resume: the model changed: manifest digest ${"a".repeat(64)} (/models/a), now ${"b".repeat(64)} (/models/b); ` +
        "rows were 2 values, this model makes 3; the adapter was proximity, now adhoc_query; the max length was 512 tokens, now 256. " +
        "Rerun as the interrupted run did, or delete its .partial and .progress.json files to start again",
    );
    expect(() => EmbeddingSink.open(out, "npy", true, undefined, { ...run, adapter: null })).toThrow(/cannot resume: the adapter was proximity, now none \(the bare base\)\./);
    // The same model found at another path, and an input that grew: both fine; the consumed prefix is handed back for the reader's check.
    const same = EmbeddingSink.open(out, "npy", true, undefined, { ...run, model: { ...run.model, dir: "/moved/a" }, input: { path: "/in.jsonl", size: 2000 } });
    expect(same.resumedInput).toEqual({ bytes: 120, sha256: "c".repeat(64) });
    expect(same.resumedAfterLine).toBe(3);
    same.close();
    const fresh = EmbeddingSink.open(join(dir, "fresh.jsonl"), "jsonl", true, undefined, run);
    expect(fresh.resumedInput).toBeNull();
    fresh.close();
  });

  it("lists skipped lines with the rows they came among: a resume cuts the list back to its progress record, a fresh run begins a new one", () => {
    const out = join(dir, "skips.jsonl");
    const listed = () => readFileSync(errorsPathFor(out), "utf8");
    const first = EmbeddingSink.open(out, "jsonl", false);
    first.skip(2, "bad 2");
    first.write([row("a", 1)], 3);
    first.skip(5, "bad 5"); // met after the last write: not listed, as its line is not done
    first.close();
    expect(listed()).toBe('{"line":2,"error":"bad 2"}\n');
    // A crash between listing a line and recording progress leaves it listed: a resume must drop it.
    appendFileSync(errorsPathFor(out), '{"line":5,"error":"bad 5"}\n');
    const second = EmbeddingSink.open(out, "jsonl", true);
    expect(listed()).toBe('{"line":2,"error":"bad 2"}\n');
    second.skip(5, "bad 5");
    second.write([row("b", 2)], 6);
    second.skip(7, "bad 7"); // skipped after the last rows: listed when the output is published
    second.finish();
    expect(listed()).toBe('{"line":2,"error":"bad 2"}\n{"line":5,"error":"bad 5"}\n{"line":7,"error":"bad 7"}\n');
    const fresh = EmbeddingSink.open(out, "jsonl", false);
    fresh.write([row("c", 3)], 1);
    fresh.finish();
    expect(existsSync(errorsPathFor(out))).toBe(false);
  });

  it("a write that fails as on a full disk is OUTPUT_ERROR naming the file: partial, ids, skipped lines, progress record, .npy header, rename", () => {
    const cases: { name: string; fails: (out: string) => (path: string) => boolean; code?: string; before?: (s: EmbeddingSink) => void; file: (out: string) => string }[] = [
      { name: "partial", fails: (out) => (p) => p === `${out}.partial`, file: (out) => `${out}.partial` },
      { name: "ids", fails: (out) => (p) => p === `${idsPathFor(out)}.partial`, file: (out) => `${idsPathFor(out)}.partial` },
      { name: "errors", fails: (out) => (p) => p === errorsPathFor(out), file: (out) => errorsPathFor(out) },
      { name: "progress", fails: () => (p) => p.includes(".progress.json"), code: "EDQUOT", file: (out) => `${out}.progress.json` },
      // Once rows are written: the header rewritten at the end, then the rename into place (a read-only file system).
      { name: "header", before: (s) => s.write([row("x", 1, 2)], 1), fails: (out) => (p) => p === `${out}.partial`, file: (out) => `${out}.partial` },
      { name: "rename", before: (s) => s.write([row("x", 1, 2)], 1), fails: (out) => (p) => p === out, code: "EROFS", file: (out) => out },
    ];
    for (const c of cases) {
      const out = join(dir, `full-${c.name}.npy`);
      const sink = EmbeddingSink.open(out, "npy", false);
      c.before?.(sink);
      const restore = failWrites(c.fails(out), c.code);
      let error: Specter2Error | undefined;
      try {
        if (c.name === "errors") sink.skip(9, "bad 9");
        if (!c.before) sink.write([row("y", 3, 4)], 10);
        sink.finish();
      } catch (e) {
        error = e as Specter2Error;
      } finally {
        restore();
        sink.close();
      }
      expect([c.name, error?.code, error?.file, error?.message]).toEqual([
        c.name,
        "OUTPUT_ERROR",
        c.file(out),
        expect.stringContaining(`${c.file(out)}: ${c.code ?? "ENOSPC"}: simulated failure`),
      ]);
    }
  });

  it("leaves the lines skipped with it, and nothing else, once an output is published", () => {
    const sub = mkdtempSync(join(dir, "published-"));
    const out = join(sub, "p.npy");
    const sink = EmbeddingSink.open(out, "npy", false);
    sink.skip(1, "bad 1");
    sink.write([row("a", 1)], 2);
    sink.finish();
    expect(readdirSync(sub).sort()).toEqual(["p.ids.jsonl", "p.npy", "p.npy.errors.jsonl"]);
  });
});
