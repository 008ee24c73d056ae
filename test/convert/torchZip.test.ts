import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "../../src/weights/torch/crc32";
import { readZip } from "../../src/weights/torch/zip";

const fixture = (name: string) => readFileSync(join(__dirname, "..", "fixtures", "torch-bin", name));
const CENTRAL_HEADER = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
const ZIP64_END_RECORD = Buffer.from([0x50, 0x4b, 0x06, 0x06]);

function sizes(entries: Map<string, Uint8Array>): Record<string, number> {
  return Object.fromEntries([...entries].map(([name, data]) => [name, data.byteLength]));
}

describe("crc32", () => {
  test("the standard check value and zlib's values", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // python3 -c "import zlib; print(hex(zlib.crc32(bytes(range(256)) * 3)))"
    const bytes = new Uint8Array(768).map((_, i) => i & 0xff);
    expect(crc32(bytes).toString(16)).toBe("b0c0df2a");
  });
});

describe("readZip on archives written by torch.save", () => {
  test("lists the entries Python's zipfile lists, with their sizes", () => {
    // python3 -c "import zipfile; print([(i.filename, i.file_size) for i in zipfile.ZipFile('views.bin').infolist()])"
    expect(sizes(readZip(fixture("views.bin"), "views.bin"))).toEqual({
      "views/data.pkl": 597,
      "views/data/0": 80,
      "views/data/1": 12,
      "views/data/2": 40,
      "views/data/3": 12,
      "views/version": 2,
    });
  });

  test("entries are views into the archive at torch's 64-byte aligned offsets (the local extra field pads)", () => {
    const bytes = fixture("views.bin");
    const entries = readZip(bytes, "views.bin");
    expect(Buffer.from(entries.get("views/version")!).toString()).toBe("3\n");
    for (const key of ["0", "1", "2", "3"]) {
      const data = entries.get(`views/data/${key}`)!;
      expect({ key, sameBuffer: data.buffer === bytes.buffer, aligned: (data.byteOffset - bytes.byteOffset) % 64 }).toEqual({ key, sameBuffer: true, aligned: 0 });
    }
  });

  test("zip64 sizes and offsets (extra fields, zip64 end record) give the same entries", () => {
    const plain = readZip(fixture("dtypes.bin"), "dtypes.bin");
    const zip64 = readZip(fixture("zip64.bin"), "zip64.bin");
    expect([...zip64.keys()]).toEqual([...plain.keys()]);
    for (const [name, data] of plain) expect({ name, equal: Buffer.compare(zip64.get(name)!, data) }).toEqual({ name, equal: 0 });
  });

  test("an archive comment after the end record is allowed", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    bytes.writeUInt16LE(5, bytes.length - 2);
    expect(sizes(readZip(Buffer.concat([bytes, Buffer.from("hello")]), "commented.bin"))["views/data/0"]).toBe(80);
  });
});

describe("readZip refuses broken archives, naming the file", () => {
  test("every truncation of a real archive", () => {
    const bytes = fixture("views.bin");
    for (let length = 0; length < bytes.length; length++) {
      expect(() => readZip(bytes.subarray(0, length), "cut.bin")).toThrow(/^cut\.bin: /);
    }
  });

  test("the half-file fixture", () => {
    expect(() => readZip(fixture("truncated.bin"), "truncated.bin")).toThrow("truncated.bin: no zip end-of-central-directory record found: the archive is truncated or not a zip file");
  });

  test("compressed entries (torch never writes them) name the entry and method", () => {
    expect(() => readZip(fixture("deflated.bin"), "deflated.bin")).toThrow("deflated.bin: entry views/data.pkl uses compression method 8; only stored (uncompressed) entries are supported");
  });

  test("a corrupted data byte fails the CRC check of its entry", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    const entries = readZip(bytes, "views.bin");
    const data = entries.get("views/data/2")!;
    bytes[data.byteOffset - bytes.byteOffset + 3] ^= 0x10;
    expect(() => readZip(bytes, "flipped.bin")).toThrow("flipped.bin: entry views/data/2: CRC-32 mismatch, the data is corrupt");
  });

  test("a central directory entry pointing past the data", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    bytes.writeUInt32LE(0x7fffffff, bytes.indexOf(CENTRAL_HEADER) + 42);
    expect(() => readZip(bytes, "offset.bin")).toThrow("offset.bin: entry views/data.pkl: no local file header at offset 2147483647");
  });

  test("a stored entry whose size runs into the central directory", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    const central = bytes.indexOf(CENTRAL_HEADER);
    bytes.writeUInt32LE(1 << 20, central + 20);
    bytes.writeUInt32LE(1 << 20, central + 24);
    expect(() => readZip(bytes, "size.bin")).toThrow(/^size\.bin: entry views\/data\.pkl \(1048576 bytes at offset \d+\) runs into the central directory/);
  });

  test("a local header naming another entry", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    bytes[30] = "X".charCodeAt(0); // first byte of the first local header's name
    expect(() => readZip(bytes, "renamed.bin")).toThrow("renamed.bin: entry views/data.pkl: local header at offset 0 names a different entry");
  });

  test("a central directory that claims more entries than it holds", () => {
    const bytes = Buffer.from(fixture("views.bin"));
    // torch writes zip64 end records, which then are the authority: raise the entry counts there.
    const zip64End = bytes.lastIndexOf(ZIP64_END_RECORD);
    bytes.writeBigUInt64LE(7n, zip64End + 24);
    bytes.writeBigUInt64LE(7n, zip64End + 32);
    expect(() => readZip(bytes, "count.bin")).toThrow(/^count\.bin: central directory entry 6 at offset \d+ is missing or corrupt/);
  });
});
