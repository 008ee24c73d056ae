import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../src/node/modelDirectory";
import type { RawTensor } from "../../src/weights/dtypes";
import { toFloat32 } from "../../src/weights/dtypes";
import type { RangeReader } from "../../src/weights/safetensors";
import { MAX_HEADER_BYTES, parseSafetensors, readSafetensorsRanges, serializeSafetensors } from "../../src/weights/safetensors";

const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));

function f32(values: number[], shape: number[]): RawTensor {
  return { dtype: "F32", shape, data: new Uint8Array(new Float32Array(values).buffer) };
}

/** A file assembled by hand, the way the format spec lays it out, to feed the reader bad headers. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** A file's bytes read at offsets, each read a copy of its own, as Node's positional reads give them. */
function rangesOf(bytes: Uint8Array): RangeReader {
  return { size: bytes.byteLength, read: (offset, length) => bytes.slice(offset, offset + length) };
}

describe("safetensors read a tensor at a time", () => {
  it("gives the tensors and metadata the whole-file parse gives, each tensor's bytes a buffer of its own that becomes its values uncopied", () => {
    const tensors = new Map<string, RawTensor>([
      ["b", f32([5, 6], [2])],
      ["a", f32([1, 2, 3, 4, 5, 6], [2, 3])],
      ["h", { dtype: "F16", shape: [3], data: new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer) }],
    ]);
    const bytes = serializeSafetensors(tensors, { format: "pt" });
    const whole = parseSafetensors(bytes, "x.safetensors");
    const ranged = readSafetensorsRanges(rangesOf(bytes), "x.safetensors");
    expect(ranged.metadata).toEqual({ format: "pt" });
    expect([...ranged.tensors.keys()]).toEqual([...whole.tensors.keys()]);
    for (const [name, t] of ranged.tensors) {
      expect(t.shape).toEqual(whole.tensors.get(name)!.shape);
      expect(Array.from(t.data)).toEqual(Array.from(whole.tensors.get(name)!.data));
      expect(t.data.byteLength).toBe(t.data.buffer.byteLength);
    }
    const a = ranged.tensors.get("a")!;
    const values = toFloat32(a, "a");
    expect(values.buffer).toBe(a.data.buffer); // no second copy of a tensor read on its own
    expect(Array.from(values)).toEqual([1, 2, 3, 4, 5, 6]);
    // A view into a whole file is copied, so the file's buffer can go.
    expect(toFloat32(whole.tensors.get("a")!, "a").buffer).not.toBe(bytes.buffer);
    expect(Array.from(toFloat32(ranged.tensors.get("h")!, "h"))).toEqual([1, -2, 0.5]);
  });
});

describe("safetensors writer", () => {
  it("lays out the header exactly as the format requires", () => {
    const tensors = new Map([
      ["a", f32([1, 2, 3, 4, 5, 6], [2, 3])],
      ["b", { dtype: "I64", shape: [], data: new Uint8Array(8).fill(7) }],
    ]);
    const bytes = serializeSafetensors(tensors, { format: "pt" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
    expect(header).toEqual({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] },
      b: { dtype: "I64", shape: [], data_offsets: [24, 32] },
    });
    expect(bytes.byteLength).toBe(8 + n + 32);
    expect(Array.from(new Float32Array(bytes.slice(8 + n, 8 + n + 24).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("round-trips every dtype through a file, metadata included", () => {
    const tensors = new Map<string, RawTensor>([
      ["f32", f32([0.5, -2], [2])],
      ["f16", { dtype: "F16", shape: [1, 2], data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) }],
      ["bf16", { dtype: "BF16", shape: [2], data: new Uint8Array([0x80, 0x3f, 0x00, 0x40]) }],
      ["i32", { dtype: "I32", shape: [1], data: new Uint8Array([1, 0, 0, 0]) }],
      ["empty", { dtype: "F32", shape: [0, 4], data: new Uint8Array(0) }],
    ]);
    const path = join(dir, "roundtrip.safetensors");
    writeSafetensors(path, tensors, { note: "x" });
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ note: "x" });
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      expect({ dtype: b.dtype, shape: b.shape, data: Array.from(b.data) }).toEqual({ dtype: t.dtype, shape: t.shape, data: Array.from(t.data) });
    }
  });

  it("refuses a tensor whose bytes do not match its shape", () => {
    expect(() => serializeSafetensors(new Map([["w", f32([1, 2, 3], [2, 2])]]))).toThrow(/tensor "w": 12 bytes for shape \[2, 2\] of F32, expected 16/);
  });
});

describe("safetensors reader refuses bad files, naming the file and the tensor", () => {
  const file = "bad.safetensors";
  it.each<[string, Uint8Array, RegExp]>([
    ["a file shorter than the length field", new Uint8Array(5), /bad\.safetensors: file is 5 bytes/],
    ["a header length beyond the file", handMade({}, new Uint8Array(0), 1000n), /header length 1000 runs past the end of the file/],
    ["a header length above the sane limit", handMade({}, new Uint8Array(0), BigInt(MAX_HEADER_BYTES) + 1n), /exceeds the limit/],
    ["a 100 GB header claim", handMade({}, new Uint8Array(0), 100n * 1024n ** 3n), /exceeds the limit/],
    ["malformed JSON", handMade("{not json"), /header is not valid UTF-8 JSON/],
    ["a JSON array header", handMade("[1, 2]"), /header is not a JSON object/],
    ["an unknown dtype", handMade({ w: { dtype: "F8", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor "w": unknown dtype "F8"/],
    ["a negative shape", handMade({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": shape \[-1\]/],
    ["offsets out of order", handMade({ w: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /tensor "w": data_offsets \[4,0\]/],
    ["a size not equal to shape × dtype", handMade({ w: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), /tensor "w": 4 bytes for shape \[2\] of F32, expected 8/],
    [
      "offsets past the data section",
      handMade({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)),
      /tensor "w": data_offsets \[0, 8\] run past the data section \(4 bytes\)/,
    ],
    [
      "overlapping tensors",
      handMade({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
    ],
    ["non-string metadata", handMade({ __metadata__: { a: 1 } }), /__metadata__\["a"\] is not a string/],
  ])("%s", (_label, bytes, message) => {
    expect(() => parseSafetensors(bytes, file)).toThrow(message);
    expect(() => parseSafetensors(bytes, file)).toThrow(/^bad\.safetensors: /);
    // Read a tensor at a time (Node's model loads), the same checks refuse it the same way.
    expect(() => readSafetensorsRanges(rangesOf(bytes), file)).toThrow(message);
  });

  it("a truncated file on disk is refused with its path", () => {
    const good = serializeSafetensors(new Map([["w", f32([1, 2, 3, 4], [4])]]));
    const path = join(dir, "truncated.safetensors");
    writeFileSync(path, good.subarray(0, good.byteLength - 3));
    expect(() => readSafetensors(path)).toThrow(new RegExp(`${path.replace(/[.]/g, "\\.")}: tensor "w": data_offsets \\[0, 16\\] run past the data section \\(13 bytes\\)`));
  });

  it("reads what it wrote from disk byte for byte", () => {
    const path = join(dir, "same.safetensors");
    const bytes = serializeSafetensors(new Map([["w", f32([3, 1, 4], [3])]]));
    writeFileSync(path, bytes);
    expect(Array.from(readFileSync(path))).toEqual(Array.from(bytes));
    expect(Array.from(new Float32Array(readSafetensors(path).tensors.get("w")!.data.slice().buffer))).toEqual([3, 1, 4]);
  });
});
