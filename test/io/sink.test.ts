// Resumable outputs: what an interrupted run leaves, and what --resume makes of it. The .npy bytes are
// checked against the format's definition (numpy's format spec), and loaded by numpy in the CLI tests.
import { existsSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNpyHeader } from "../../src/io/npy";
import { EmbeddingSink, idsPathFor } from "../../src/pipeline/sink";

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
    writeFileSync(`${out}.progress.json`, JSON.stringify({ format: "npy", rows: 1, lastLine: 1, dataBytes: 10, idsBytes: 0, dim: 1 }));
    expect(() => EmbeddingSink.open(out, "jsonl", true)).toThrow(/the interrupted run wrote npy, this one asks for jsonl/);
  });
});
