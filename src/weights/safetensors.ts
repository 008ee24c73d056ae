// Safetensors: 8-byte little-endian header length N, N bytes of JSON header, then the data section.
// Parsing validates the whole header before any tensor is handed out; serializing produces what
// Python's `safetensors` accepts (header padded with spaces to 8 bytes, contiguous offsets). Bytes in, bytes
// out: files are src/node/modelDirectory.ts's (Node), URLs the browser entry's.
import type { RawTensor } from "./dtypes";
import { DTYPE_SIZES, isDType, numElements } from "./dtypes";
import { Specter2Error } from "../errors";

/** Headers of real models are a few hundred kB; anything far beyond is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** A safetensors file that cannot be read as one: code BAD_CHECKPOINT, with `file` (and `tensor` where one is at fault). */
export class SafetensorsError extends Specter2Error {
  constructor(file: string, message: string, tensor?: string) {
    super("BAD_CHECKPOINT", `${file}: ${message}`, { file, tensor });
    this.name = "SafetensorsError";
  }
}

export function checkHeaderLength(file: string, length: bigint, fileSize: number): number {
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `header length ${length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (length > BigInt(fileSize - 8)) {
    throw new SafetensorsError(file, `header length ${length} runs past the end of the file (${fileSize} bytes): truncated?`);
  }
  if (length < 2n) throw new SafetensorsError(file, `header length ${length} is too small for a JSON object`);
  return Number(length);
}

/** Parses safetensors bytes (the whole file). `file` names the source in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string, knownHeaderLength?: number): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(file, `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = knownHeaderLength ?? checkHeaderLength(file, view.getBigUint64(0, true), bytes.byteLength);
  const dataStart = 8 + headerLength;
  const { entries, metadata } = parseHeader(file, bytes.subarray(8, dataStart), bytes.byteLength - dataStart);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) tensors.set(e.name, { ...e.tensor, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  return { tensors, metadata };
}

/** A file read at offsets (Node's positional reads): each call returns a fresh buffer of its own. */
export interface RangeReader {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

/** Parses a safetensors file read a tensor at a time, so the whole file is never in memory at once beside the tensors
 *  made from it: each tensor's bytes are a buffer of their own (what src/weights/dtypes.ts's toFloat32 then keeps as is). */
export function readSafetensorsRanges(reader: RangeReader, file: string): SafetensorsFile {
  if (reader.size < 8) throw new SafetensorsError(file, `file is ${reader.size} bytes, shorter than the 8-byte header length`);
  const lengthBytes = reader.read(0, 8);
  const headerLength = checkHeaderLength(file, new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true), reader.size);
  const dataStart = 8 + headerLength;
  const { entries, metadata } = parseHeader(file, reader.read(8, headerLength), reader.size - dataStart);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) tensors.set(e.name, { ...e.tensor, data: reader.read(dataStart + e.begin, e.end - e.begin) });
  return { tensors, metadata };
}

interface HeaderEntry {
  name: string;
  begin: number;
  end: number;
  tensor: Omit<RawTensor, "data">;
}

/** The header's tensors, checked (dtypes, shapes, offsets inside the data section, no overlaps), in file order. */
function parseHeader(file: string, headerBytes: Uint8Array, dataLength: number): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SafetensorsError(file, "header is not a JSON object");
  }
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(file, value);
      continue;
    }
    const info = checkTensorInfo(file, name, value);
    if (info.end > dataLength) {
      throw new SafetensorsError(file, `tensor "${name}": data_offsets [${info.begin}, ${info.end}] run past the data section (${dataLength} bytes)`, name);
    }
    entries.push({ name, ...info });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const cur = entries[i];
    if (cur.begin < prev.end) {
      throw new SafetensorsError(file, `tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${cur.name}" [${cur.begin}, ${cur.end}] overlap`, cur.name);
    }
  }
  return { entries, metadata };
}

function checkMetadata(file: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SafetensorsError(file, "__metadata__ is not an object of strings");
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new SafetensorsError(file, `__metadata__["${k}"] is not a string`);
  }
  return value as Record<string, string>;
}

function checkTensorInfo(file: string, name: string, value: unknown): { begin: number; end: number; tensor: Omit<RawTensor, "data"> } {
  const where = `tensor "${name}"`;
  if (value === null || typeof value !== "object") throw new SafetensorsError(file, `${where}: entry is not an object`, name);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !isDType(dtype)) {
    throw new SafetensorsError(file, `${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZES).join(", ")})`, name);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(file, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(file, `${where}: data_offsets ${JSON.stringify(offsets)} are not [begin, end] with 0 <= begin <= end`, name);
  }
  const expected = numElements(shape) * DTYPE_SIZES[dtype];
  const [begin, end] = offsets as [number, number];
  if (end - begin !== expected) {
    throw new SafetensorsError(file, `${where}: ${end - begin} bytes for shape [${shape.join(", ")}] of ${dtype}, expected ${expected}`, name);
  }
  return { begin, end, tensor: { dtype, shape: shape as number[] } };
}

/** Serializes tensors (in the given order) with optional string metadata. */
export function serializeSafetensors(tensors: Map<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const expected = numElements(t.shape) * DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new Error(`tensor "${name}": ${t.data.byteLength} bytes for shape [${t.shape.join(", ")}] of ${t.dtype}, expected ${expected}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded); // the header is padded with spaces, as Python's safetensors does
  let at = 8 + padded;
  for (const t of tensors.values()) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}
