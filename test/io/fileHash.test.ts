// Hashing a whole file in chunks (src/io/fileHash.ts): the same digest as hashing its bytes at once, every byte fed
// to every sink in order across chunk boundaries, and a file that is not the size the caller counted on refused.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileDigest, hashFile } from "../../src/io/fileHash";

const dir = mkdtempSync(join(tmpdir(), "file-hash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Larger than one chunk (1 MiB) and not a multiple of it, with bytes that differ by position. */
function bigFile(): { path: string; bytes: Buffer } {
  const bytes = Buffer.alloc((1 << 20) * 2 + 12345);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 13)) & 0xff;
  const path = join(dir, "big.bin");
  writeFileSync(path, bytes);
  return { path, bytes };
}

test("fileDigest is the sha256 and size of the whole file", () => {
  const { path, bytes } = bigFile();
  expect(fileDigest(path)).toEqual({ sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length });
});

test("an empty file", () => {
  const path = join(dir, "empty");
  writeFileSync(path, "");
  expect(fileDigest(path)).toEqual({ sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", bytes: 0 });
});

test("every sink sees every byte in order", () => {
  const { path, bytes } = bigFile();
  const sha1 = createHash("sha1");
  const seen: Buffer[] = [];
  const count = hashFile(path, [sha1, { update: (chunk) => seen.push(Buffer.from(chunk)) }]);
  expect(count).toBe(bytes.length);
  expect(seen.length).toBe(3);
  expect(Buffer.concat(seen).equals(bytes)).toBe(true);
  expect(sha1.digest("hex")).toBe(createHash("sha1").update(bytes).digest("hex"));
});

test("a file of another size than expected is refused, naming it", () => {
  const path = join(dir, "short");
  writeFileSync(path, "abc");
  expect(() => hashFile(path, [], 4)).toThrow(expect.objectContaining({ code: "BAD_CHECKPOINT", file: path, message: `${path}: changed size while being hashed` }));
  expect(hashFile(path, [], 3)).toBe(3);
});

test("a missing file is an error", () => {
  expect(() => fileDigest(join(dir, "missing"))).toThrow(/ENOENT/);
});
