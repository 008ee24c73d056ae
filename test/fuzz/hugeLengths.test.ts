// Lengths and counts that claim 100 GB (or billions of items) are refused from the header alone: nothing that
// size is allocated, each case ends at once with an error naming the file. runCase checks time and memory.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readStateDict } from "../../src/weights/torch/checkpoint";
import { MAX_MARK_DEPTH, unpickle } from "../../src/weights/torch/pickle";
import { torchGlobals } from "../../src/weights/torch/torchGlobals";
import { readZip } from "../../src/weights/torch/zip";
import { readSafetensors } from "../../src/node/modelDirectory";
import { runCase } from "../helpers/fuzz";
import { storedZip } from "../helpers/fuzzZip";
import { PickleBuilder } from "../helpers/pickleBuilder";

const HUNDRED_GB = 100_000_000_000n;

function expectRefused(source: string, bytes: number, run: () => unknown, message: RegExp): void {
  const outcome = runCase(source, bytes, run);
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) expect(outcome.error.message).toMatch(message);
}

function u64(value: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return [...b];
}

describe("safetensors", () => {
  const dir = mkdtempSync(join(tmpdir(), "specter2-huge-"));

  test("a header length of 100 GB in a 16-byte file is refused before the file is read", () => {
    const path = join(dir, "huge-header.safetensors");
    writeFileSync(path, Uint8Array.from([...u64(HUNDRED_GB), ...Buffer.from("{}      ")]));
    expectRefused(path, 16, () => readSafetensors(path), /huge-header\.safetensors: header length 100000000000 exceeds the limit/);
  });

  test("a tensor claiming 100 GB of data is refused against the data section's real size", () => {
    const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [25_000_000_000], data_offsets: [0, 100_000_000_000] } }));
    const path = join(dir, "huge-tensor.safetensors");
    writeFileSync(path, Buffer.concat([Buffer.from(u64(BigInt(header.length))), header, Buffer.alloc(8)]));
    expectRefused(path, 200, () => readSafetensors(path), /huge-tensor\.safetensors: tensor "w": data_offsets \[0, 100000000000\] run past the data section \(8 bytes\)/);
  });
});

describe("torch zip", () => {
  const entry: [string, Uint8Array] = ["archive/data/0", new Uint8Array(8)];

  test("an entry whose zip64 size says 100 GB is refused", () => {
    const zip = storedZip([entry], { zip64Size: HUNDRED_GB });
    expectRefused("huge.bin", zip.length, () => readZip(zip, "huge.bin"), /huge\.bin: entry archive\/data\/0 \(100000000000 bytes at offset \d+\) runs into the central directory/);
  });

  test("a zip64 end record claiming 2^50 entries stops at the first missing one", () => {
    const zip = storedZip([entry], { zip64Count: 1n << 50n });
    expectRefused("count.bin", zip.length, () => readZip(zip, "count.bin"), /count\.bin: central directory entry 1 at offset \d+ is missing or corrupt/);
  });

  test("a local header whose name runs past the end of the archive is refused (once a RangeError from the typed array)", () => {
    const zip = storedZip([entry], { localNameLength: 0xffff });
    expectRefused("name.bin", zip.length, () => readZip(zip, "name.bin"), /name\.bin: entry name at offset 30 \(65535 bytes\) runs past the end of the archive/);
  });
});

describe("pickle", () => {
  const options = { globals: torchGlobals() };

  // Each pickle is PROTO 2, the opcode, then STOP: the one byte "left" after a 4-byte length is the STOP.
  test.each([
    ["BINUNICODE of 4 GB - 1", [0x58, 0xff, 0xff, 0xff, 0xff], /needs 4294967295 argument bytes, only 1 left/],
    ["BINBYTES of 4 GB - 1", [0x42, 0xff, 0xff, 0xff, 0xff], /needs 4294967295 argument bytes, only 1 left/],
    ["BINUNICODE8 of 100 GB", [0x8d, ...u64(HUNDRED_GB)], /length 100000000000 exceeds the pickle's size/],
    ["BINBYTES8 of 2^64 - 1", [0x8e, ...u64((1n << 64n) - 1n)], /length 18446744073709551615 exceeds the pickle's size/],
    ["FRAME of 100 GB", [0x95, ...u64(HUNDRED_GB)], /length 100000000000 exceeds the pickle's size/],
    ["LONG4 of 2 GB", [0x8b, 0x00, 0x00, 0x00, 0x80], /2147483648-byte integer is beyond any checkpoint's needs/],
  ])("%s is refused by its length", (_, ops, message) => {
    const bytes = Uint8Array.from([0x80, 2, ...ops, 0x2e]);
    expectRefused("huge.pkl", bytes.length, () => unpickle(bytes, "huge.pkl", options), message);
  });

  test("MARKs nested 100 000 deep stop at the depth limit", () => {
    const bytes = Uint8Array.from([0x80, 2, ...new Array(100_000).fill(0x28), 0x2e]);
    expectRefused("deep.pkl", bytes.length, () => unpickle(bytes, "deep.pkl", options), new RegExp(`MARKs nested deeper than ${MAX_MARK_DEPTH}`));
  });

  test("lists nested 500 000 deep are built without recursion", () => {
    const depth = 500_000;
    // EMPTY_LIST × depth, then APPEND × (depth - 1): each list is appended into the one below it.
    const bytes = Uint8Array.from([0x80, 2, ...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), 0x2e]);
    const outcome = runCase("nested.pkl", bytes.length, () => unpickle(bytes, "nested.pkl", options));
    expect(outcome.ok).toBe(true);
    let list = (outcome as { value: unknown[] }).value;
    let levels = 1;
    while (list.length === 1) [list, levels] = [list[0] as unknown[], levels + 1];
    expect(levels).toBe(depth);
  });
});

describe("torch checkpoint", () => {
  test("a zero-stride view claiming 100 GB of a 4-byte storage is refused before any copy", () => {
    const pickle = new PickleBuilder().stateDict([["w", (b) => b.tensor({ key: "0", numel: 1, size: [50_000, 50_000, 10], stride: [0, 0, 0] })]]).bytes();
    const entries = new Map([
      ["archive/data.pkl", pickle],
      ["archive/data/0", new Uint8Array(4)],
    ]);
    expectRefused("view.bin", pickle.length, () => readStateDict(entries, "view.bin"), /view\.bin: tensor w: size \[50000,50000,10\] is too large \(25000000000 elements\)/);
  });
});
