import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTorchCheckpoint, readStateDict } from "../../src/weights/torch/checkpoint";
import { readTorchCheckpoint } from "../../src/hub/repoFolder";
import type { RawTensor } from "../../src/weights/dtypes";
import { readZip } from "../../src/weights/torch/zip";
import { runCase } from "../helpers/fuzz";
import { strideZeroCheckpoint } from "../helpers/hostileFiles";
import { float32Bytes, PickleBuilder } from "../helpers/pickleBuilder";

const FIXTURES = join(__dirname, "..", "fixtures", "torch-bin");
const fixture = (name: string) => join(FIXTURES, name);

interface Expected {
  format_version: number;
  generator: string;
  tensors: Record<string, { dtype: string; shape: number[]; hex: string }>;
}

function expected(name: string): Expected {
  const value = JSON.parse(readFileSync(fixture(`${name}.expected.json`), "utf8")) as Expected;
  if (value.format_version !== 1) throw new Error(`${name}.expected.json: format ${value.format_version}; re-run ${value.generator}`);
  return value;
}

/** Equal names (in order), dtypes, shapes and bytes; a mismatch reports the tensor and the first differing byte. */
function expectTensors(actual: Map<string, RawTensor>, want: Expected): void {
  expect([...actual.keys()]).toEqual(Object.keys(want.tensors));
  for (const [name, w] of Object.entries(want.tensors)) {
    const t = actual.get(name)!;
    expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, dtype: w.dtype, shape: w.shape });
    const got = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const wanted = Buffer.from(w.hex, "hex");
    const first = got.findIndex((b, i) => b !== wanted[i]);
    expect({ name, bytes: got.length, firstDifferingByte: got.length === wanted.length ? first : "length" }).toEqual({ name, bytes: wanted.length, firstDifferingByte: -1 });
  }
}

describe("torch.save files read back exactly what PyTorch holds", () => {
  test.each([
    ["dtypes", "dtypes"], // F64..BOOL, NaN/inf/-0/subnormals, a 0-d and an empty tensor
    ["views", "views"], // transpose, offset slice, strided column, stride-0 broadcast, shared storage
    ["parameter", "parameter"], // nn.Parameter through _rebuild_parameter
    ["module", "module"], // a module's state_dict with its _metadata attribute
    ["zip64", "dtypes"], // the same tensors in an archive whose sizes and offsets live in zip64 fields
  ])("%s.bin", (file, want) => {
    expectTensors(readTorchCheckpoint(fixture(`${file}.bin`)), expected(want));
  });

  test("contiguous tensors are views into the file's bytes; strided ones are gathered copies", () => {
    const bytes = readFileSync(fixture("views.bin"));
    const tensors = parseTorchCheckpoint(bytes, "views.bin");
    const inFile = (name: string) => tensors.get(name)!.data.buffer === bytes.buffer;
    expect(["rows_1_to_3", "shared_head", "shared_tail"].filter(inFile)).toEqual(["rows_1_to_3", "shared_head", "shared_tail"]);
    expect(["transposed", "column_2", "broadcast", "half_transposed"].filter(inFile)).toEqual([]);
    // The two views of one storage sit 6 float32 elements apart in the same record.
    const head = tensors.get("shared_head")!.data;
    expect(tensors.get("shared_tail")!.data.byteOffset - head.byteOffset).toBe(6 * 4);
  });
});

describe("hostile and broken files are refused", () => {
  test.each([
    ["malicious-os-system.bin", "posix.system"],
    ["malicious-eval.bin", "__builtin__.eval"],
  ])("%s is refused naming %s, and nothing runs", (file, global) => {
    rmSync("/tmp/pwned", { force: true });
    expect(() => readTorchCheckpoint(fixture(file))).toThrow(`${fixture(file)} (${file.replace(".bin", "")}/data.pkl): pickle byte 176: refusing to load global ${global}`);
    expect(existsSync("/tmp/pwned")).toBe(false);
  });

  test("the legacy (pre-1.6) format gets a message saying how to re-save", () => {
    expect(() => readTorchCheckpoint(fixture("legacy.bin"))).toThrow(
      `${fixture("legacy.bin")}: legacy torch.save format (a bare pickle, written by torch < 1.6 or with _use_new_zipfile_serialization=False) is not supported; re-save it with torch>=1.6`,
    );
  });

  test("a truncated archive names the file", () => {
    expect(() => readTorchCheckpoint(fixture("truncated.bin"))).toThrow(
      `${fixture("truncated.bin")}: no zip end-of-central-directory record found: the archive is truncated or not a zip file`,
    );
  });

  test("a storage record shorter than its persistent id says names the tensor", () => {
    expect(() => readTorchCheckpoint(fixture("storage-too-small.bin"))).toThrow(
      `${fixture("storage-too-small.bin")}: tensor transposed: storage record views/data/0 holds 76 bytes, but its persistent id declares 20 F32 elements (80 bytes)`,
    );
  });

  test("neither zip nor pickle", () => {
    expect(() => parseTorchCheckpoint(Buffer.from('{"not": "torch"}'), "x.bin")).toThrow("x.bin: not a torch.save checkpoint");
  });

  test("a missing file", () => {
    expect(() => readTorchCheckpoint(fixture("absent.bin"))).toThrow(fixture("absent.bin"));
  });
});

describe("hand-built archives: views and persistent ids", () => {
  const storage = float32Bytes([0, 1, 2, 3, 4, 5]);
  const read = (pickle: PickleBuilder, extra: [string, Uint8Array][] = [[`archive/data/0`, storage]]) => readStateDict(new Map([["archive/data.pkl", pickle.bytes()], ...extra]), "hand.bin");
  const floats = (t: RawTensor) => Array.from(new Float32Array(Uint8Array.from(t.data).buffer));

  test("size (3, 2) stride (1, 3) is the transpose of a 2×3 row-major storage", () => {
    const t = read(new PickleBuilder().stateDict([["t", (b) => b.tensor({ key: "0", numel: 6, size: [3, 2], stride: [1, 3] })]])).get("t")!;
    expect({ shape: t.shape, values: floats(t) }).toEqual({ shape: [3, 2], values: [0, 3, 1, 4, 2, 5] });
  });

  test("an offset, a stride of 2, and a 0-d view", () => {
    const tensors = read(
      new PickleBuilder().stateDict([
        ["odd", (b) => b.tensor({ key: "0", numel: 6, offset: 1, size: [3], stride: [2] })],
        ["last", (b) => b.tensor({ key: "0", numel: 6, offset: 5, size: [], stride: [] })],
      ]),
    );
    expect(floats(tensors.get("odd")!)).toEqual([1, 3, 5]);
    expect({ shape: tensors.get("last")!.shape, values: floats(tensors.get("last")!) }).toEqual({ shape: [], values: [5] });
  });

  test.each([
    ["one element past the end", { offset: 1, size: [2, 3], stride: [3, 1] }, "view (offset 1, size [2,3], stride [3,1]) reaches element 6"],
    ["a stride past the end", { offset: 0, size: [2], stride: [6] }, "view (offset 0, size [2], stride [6]) reaches element 6"],
  ])("a view beyond its storage names the tensor: %s", (_case, view, message) => {
    const pickle = new PickleBuilder().stateDict([["encoder.w", (b) => b.tensor({ key: "0", numel: 6, ...view })]]);
    expect(() => read(pickle)).toThrow(`hand.bin: tensor encoder.w: ${message} of storage archive/data/0, which holds 6 elements`);
  });

  test.each([
    ["a tag other than 'storage'", (b: PickleBuilder) => b.mark().unicode("blob").unicode("0").tuple(), "persistent id a 2-tuple is not ('storage', storage_type, key, location, numel)"],
    [
      "a key that is not a string",
      (b: PickleBuilder) => b.mark().unicode("storage").global("torch", "FloatStorage").int(0).unicode("cpu").int(6).tuple(),
      "persistent id key number 0 is not a string",
    ],
    [
      "a storage type that is a string",
      (b: PickleBuilder) => b.mark().unicode("storage").unicode("FloatStorage").unicode("0").unicode("cpu").int(6).tuple(),
      'persistent id names string "FloatStorage", not a storage type',
    ],
    [
      "a key with no record",
      (b: PickleBuilder) => b.mark().unicode("storage").global("torch", "FloatStorage").unicode("7").unicode("cpu").int(6).tuple(),
      "persistent id refers to storage 7, but the archive has no archive/data/7",
    ],
  ])("a bad persistent id: %s", (_case, pid, message) => {
    const pickle = new PickleBuilder().stateDict([["w", (b) => b.tensor({ key: "0", numel: 6, size: [6], stride: [1], pid })]]);
    expect(() => read(pickle)).toThrow(`hand.bin (archive/data.pkl): pickle byte `);
    expect(() => read(pickle)).toThrow(message);
  });

  test("a storage type outside the allowlist is refused by name", () => {
    const pickle = new PickleBuilder().stateDict([["w", (b) => b.tensor({ key: "0", numel: 6, size: [6], stride: [1], storageType: "ComplexFloatStorage" })]]);
    expect(() => read(pickle)).toThrow("refusing to load global torch.ComplexFloatStorage");
  });

  test("a negative size names the tensor", () => {
    const pickle = new PickleBuilder().stateDict([["w", (b) => b.tensor({ key: "0", numel: 6, size: [-2], stride: [1] })]]);
    expect(() => read(pickle)).toThrow("hand.bin: tensor w: size is a 1-tuple, not a tuple of non-negative integers");
  });

  test("the same storage typed two ways is refused", () => {
    const pickle = new PickleBuilder().stateDict([
      ["a", (b) => b.tensor({ key: "0", numel: 6, size: [6], stride: [1] })],
      ["b", (b) => b.tensor({ key: "0", numel: 12, size: [12], stride: [1], storageType: "HalfStorage" })],
    ]);
    expect(() => read(pickle)).toThrow("storage 0 is referenced both as F32 × number 6 and as F16 × number 12");
  });

  test("values that are not a flat dict of tensors", () => {
    expect(() => read(new PickleBuilder().proto().emptyTuple().stop())).toThrow("hand.bin: holds a 0-tuple, not a state dict");
    expect(() => read(new PickleBuilder().stateDict([["epoch", (b) => b.int(3)]]))).toThrow("hand.bin: state dict entry epoch is number 3, not a tensor");
    expect(() => read(new PickleBuilder().proto().emptyDict().int(1).int(2).setitem().stop())).toThrow("hand.bin: state dict key number 1 is not a string");
  });

  test("the archive layout: one <root>/data.pkl, little-endian storages", () => {
    const pickle = new PickleBuilder().stateDict([]).bytes();
    expect(() => readStateDict(new Map([["data.pkl", pickle]]), "flat.bin")).toThrow("flat.bin: expected one <root>/data.pkl in the archive, found none");
    expect(() =>
      readStateDict(
        new Map([
          ["a/data.pkl", pickle],
          ["b/data.pkl", pickle],
        ]),
        "two.bin",
      ),
    ).toThrow("two.bin: expected one <root>/data.pkl in the archive, found a, b");
    expect(() =>
      readStateDict(
        new Map([
          ["m/data.pkl", pickle],
          ["m/byteorder", Buffer.from("big")],
        ]),
        "be.bin",
      ),
    ).toThrow("be.bin: storages are stored big-endian (m/byteorder)");
    expect(
      readStateDict(
        new Map([
          ["m/data.pkl", pickle],
          ["m/byteorder", Buffer.from("little")],
        ]),
        "le.bin",
      ).size,
    ).toBe(0);
  });
});

describe("views that cost more than the file holds", () => {
  const ADAPTER_TENSORS = [
    "bert.encoder.layer.0.output.adapters.a.adapter_down.0.weight",
    "bert.encoder.layer.0.output.adapters.a.adapter_up.weight",
    "bert.encoder.layer.1.output.adapters.a.adapter_up.weight",
  ];

  test("a few hundred bytes of stride-0 views of one float are refused before any copy, fast, naming the file and tensor", () => {
    // 64 MiB per tensor: what a reader that copies first would allocate (the file claimed 2 GiB each).
    const bytes = strideZeroCheckpoint(ADAPTER_TENSORS, 1 << 24);
    expect(bytes.length).toBeLessThan(1024);
    const path = join(mkdtempSync(join(tmpdir(), "torch-stride0-")), "pytorch_adapter.bin");
    writeFileSync(path, bytes);
    // runCase: an error naming the file within 2 s, external memory grown by at most a few times the input.
    const outcome = runCase(path, bytes.length, () => readTorchCheckpoint(path));
    expect(outcome.ok).toBe(false);
    const held = [...readZip(bytes, path).values()].reduce((sum, entry) => sum + entry.byteLength, 0);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: "BAD_CHECKPOINT",
      file: path,
      tensor: ADAPTER_TENSORS[0],
      message:
        `${path}: tensor ${ADAPTER_TENSORS[0]}: its strided view (size [16777216], stride [0]) would be copied into 67108864 bytes, 67108864 with the strided views before it: ` +
        `more than 4 × the ${held} bytes the checkpoint holds (a view that repeats elements, e.g. stride 0, costs more than its file)`,
    });
  });

  test("strided views are copied within 4 × the archive's bytes, counted over all tensors: a fifth transpose of one storage is refused", () => {
    // A 40×25 storage (4000 bytes) and its transpose, under several names (a memo reference each): every name copies
    // 4000 bytes, four of them fit in 4 × the archive, the fifth does not.
    const storage = float32Bytes(Array.from({ length: 1000 }, (_, i) => i));
    const transposes = (count: number) =>
      new PickleBuilder()
        .stateDict(
          Array.from({ length: count }, (_, i) => [`t${i}`, (b: PickleBuilder) => (i === 0 ? b.tensor({ key: "0", numel: 1000, size: [25, 40], stride: [1, 25] }).binput(0) : b.binget(0))]),
        )
        .bytes();
    const read = (pickle: Uint8Array) =>
      readStateDict(
        new Map([
          ["archive/data.pkl", pickle],
          ["archive/data/0", storage],
        ]),
        "many.bin",
      );
    const four = read(transposes(4));
    expect([...four.keys()]).toEqual(["t0", "t1", "t2", "t3"]);
    expect(new Float32Array(Uint8Array.from(four.get("t3")!.data).buffer).slice(0, 3)).toEqual(Float32Array.from([0, 25, 50]));
    expect(() => read(transposes(6))).toThrow(
      "many.bin: tensor t4: its strided view (size [25,40], stride [1,25]) would be copied into 4000 bytes, 20000 with the strided views before it: more than 4 × the",
    );
  });
});
