// Shared by the converter's tests: the PyTorch-written fixtures and a bit-exact tensor comparison that says where.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RawTensor } from "../../src/weights/dtypes";
import { readSafetensors } from "../../src/node/modelDirectory";

/** Written by convert/reference/make_convert_fixtures.py. */
export const FIXTURES = join(__dirname, "..", "fixtures", "convert");
const FIXTURE_FORMAT_VERSION = "1";

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/** expected/<name>.safetensors; a stale fixture (other format version) fails loudly. */
export function readExpected(name: string): Map<string, RawTensor> {
  const path = fixture("expected", `${name}.safetensors`);
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format_version !== FIXTURE_FORMAT_VERSION) {
    throw new Error(`${path}: fixture format_version ${metadata.format_version}, expected ${FIXTURE_FORMAT_VERSION}: rerun ${metadata.generator}`);
  }
  return tensors;
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `convert-${label}-`));
}

/** A writable copy of a fixture directory. */
export function copyFixture(from: string, label: string): string {
  const dir = join(tempDir(label), "copy");
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** Same names, dtypes, shapes and bytes; a mismatch names the tensor and the first differing elements. */
export function expectSameTensors(actual: Map<string, RawTensor>, expected: Map<string, RawTensor>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  const problems: string[] = [];
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    if (a.dtype !== e.dtype || a.shape.join() !== e.shape.join()) {
      problems.push(`${name}: ${a.dtype}[${a.shape}] vs expected ${e.dtype}[${e.shape}]`);
      continue;
    }
    const diff = firstDifferences(a, e);
    if (diff) problems.push(`${name}: ${diff}`);
  }
  if (problems.length > 0) throw new Error(`tensors differ from the PyTorch values:\n${problems.join("\n")}`);
}

function firstDifferences(a: RawTensor, e: RawTensor): string | undefined {
  const size = a.dtype === "F32" ? 4 : 2;
  const [x, y] = [a, e].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const bits = (b: Buffer, i: number) => (size === 4 ? b.readUInt32LE(i * 4) : b.readUInt16LE(i * 2));
  const at: string[] = [];
  let count = 0;
  for (let i = 0; i < a.data.byteLength / size; i++) {
    if (bits(x, i) !== bits(y, i)) {
      count++;
      if (at.length < 5) at.push(`[${i}] 0x${bits(x, i).toString(16)} vs 0x${bits(y, i).toString(16)}`);
    }
  }
  return count > 0 ? `${count} elements differ, first at ${at.join(", ")}` : undefined;
}
