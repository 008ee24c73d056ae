// Reading the zip container of torch.save files: uncompressed ("stored") entries, located through the central
// directory, zip64 records and extra fields included, handed out as views into the archive's bytes (no copies).
// Layout: PKWARE APPNOTE.TXT §4.3 (local header, central directory, end of central directory, zip64 forms).
import { crc32 } from "./crc32";
import { Specter2Error } from "../../errors";

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
const FLAG_ENCRYPTED = 0x1;
const METHOD_STORED = 0;

/** A zip container that cannot be read: code BAD_CHECKPOINT, with `file`. */
export class ZipError extends Specter2Error {
  constructor(file: string, message: string) {
    super("BAD_CHECKPOINT", `${file}: ${message}`, { file });
    this.name = "ZipError";
  }
}

/** True when the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === LOCAL_HEADER;
}

/**
 * The entries of a zip archive, name → contents (a view into `bytes`). `file` names the archive in errors.
 * Every offset and size is checked against the archive, local headers against the central directory,
 * and each entry's CRC-32 against its contents.
 */
export function readZip(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const directory = findCentralDirectory(view, file);
  const entries = new Map<string, Uint8Array>();
  let pos = directory.offset;
  for (let i = 0; i < directory.count; i++) {
    const entry = readCentralHeader(view, pos, directory.end, file, i);
    if (entries.has(entry.name)) throw new ZipError(file, `entry ${entry.name} appears twice in the central directory`);
    entries.set(entry.name, entryContents(bytes, view, entry, directory.offset, file));
    pos = entry.next;
  }
  if (pos !== directory.end) {
    throw new ZipError(file, `central directory holds ${directory.end - pos} bytes after its ${directory.count} entries`);
  }
  return entries;
}

interface CentralDirectory {
  offset: number;
  end: number;
  count: number;
}

function findCentralDirectory(view: DataView, file: string): CentralDirectory {
  const eocd = findEndRecord(view, file);
  const count16 = view.getUint16(eocd + 10, true);
  const size32 = view.getUint32(eocd + 12, true);
  const offset32 = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError(file, "multi-disk (split) zip archives are not supported");
  }
  // torch writes the zip64 records whatever the size; when present they are the authority.
  const locator = eocd - ZIP64_LOCATOR_SIZE;
  const zip64 = locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR;
  const directory = zip64 ? readZip64EndRecord(view, locator, file) : { offset: offset32, size: size32, count: count16, endRecord: eocd };
  const end = directory.offset + directory.size;
  if (end > directory.endRecord) {
    throw new ZipError(file, `central directory (offset ${directory.offset}, ${directory.size} bytes) runs past its end record at ${directory.endRecord}: truncated or corrupt`);
  }
  return { offset: directory.offset, end, count: directory.count };
}

/** The end-of-central-directory record: the last 22 bytes, or earlier when an archive comment follows it. */
function findEndRecord(view: DataView, file: string): number {
  const size = view.byteLength;
  if (size < EOCD_SIZE) throw new ZipError(file, `${size} bytes is too short for a zip archive: truncated?`);
  const lowest = Math.max(0, size - EOCD_SIZE - MAX_COMMENT);
  for (let pos = size - EOCD_SIZE; pos >= lowest; pos--) {
    if (view.getUint32(pos, true) === END_OF_CENTRAL_DIRECTORY && pos + EOCD_SIZE + view.getUint16(pos + 20, true) === size) {
      return pos;
    }
  }
  throw new ZipError(file, "no zip end-of-central-directory record found: the archive is truncated or not a zip file");
}

/** The zip64 end-of-central-directory record that the locator (just before the classic record) points to. */
function readZip64EndRecord(view: DataView, locator: number, file: string): { offset: number; size: number; count: number; endRecord: number } {
  const recordOffset = readUint64(view, locator + 8, file, "zip64 end-of-central-directory offset");
  if (view.getUint32(locator + 4, true) !== 0 || view.getUint32(locator + 16, true) > 1) {
    throw new ZipError(file, "multi-disk (split) zip archives are not supported");
  }
  if (recordOffset + ZIP64_EOCD_SIZE > locator || view.getUint32(recordOffset, true) !== ZIP64_END_OF_CENTRAL_DIRECTORY) {
    throw new ZipError(file, `zip64 end-of-central-directory record not found at offset ${recordOffset}: truncated or corrupt`);
  }
  const countOnDisk = readUint64(view, recordOffset + 24, file, "zip64 entry count");
  const count = readUint64(view, recordOffset + 32, file, "zip64 entry count");
  if (countOnDisk !== count) throw new ZipError(file, "multi-disk (split) zip archives are not supported");
  return {
    count,
    size: readUint64(view, recordOffset + 40, file, "zip64 central directory size"),
    offset: readUint64(view, recordOffset + 48, file, "zip64 central directory offset"),
    endRecord: recordOffset,
  };
}

interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  next: number;
}

function readCentralHeader(view: DataView, pos: number, end: number, file: string, index: number): CentralEntry {
  if (pos + CENTRAL_HEADER_SIZE > end || view.getUint32(pos, true) !== CENTRAL_HEADER) {
    throw new ZipError(file, `central directory entry ${index} at offset ${pos} is missing or corrupt`);
  }
  const nameLength = view.getUint16(pos + 28, true);
  const extraLength = view.getUint16(pos + 30, true);
  const commentLength = view.getUint16(pos + 32, true);
  const next = pos + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
  if (next > end) throw new ZipError(file, `central directory entry ${index} at offset ${pos} runs past the directory`);
  const name = decodeName(view, pos + CENTRAL_HEADER_SIZE, nameLength, file);
  const sizes = {
    size: view.getUint32(pos + 24, true),
    compressedSize: view.getUint32(pos + 20, true),
    localOffset: view.getUint32(pos + 42, true),
  };
  applyZip64Extra(view, pos + CENTRAL_HEADER_SIZE + nameLength, extraLength, sizes, `entry ${name}`, file);
  return {
    name,
    flags: view.getUint16(pos + 8, true),
    method: view.getUint16(pos + 10, true),
    crc: view.getUint32(pos + 16, true),
    ...sizes,
    next,
  };
}

/** Replaces the 32-bit fields saturated at 0xFFFFFFFF by their values in the zip64 extra field, in APPNOTE order. */
function applyZip64Extra(view: DataView, start: number, length: number, sizes: { size: number; compressedSize: number; localOffset?: number }, what: string, file: string): void {
  const wanted = (["size", "compressedSize", "localOffset"] as const).filter((k) => sizes[k] === 0xffffffff);
  if (wanted.length === 0) return;
  for (let pos = start; pos + 4 <= start + length;) {
    const id = view.getUint16(pos, true);
    const dataLength = view.getUint16(pos + 2, true);
    if (pos + 4 + dataLength > start + length) break;
    if (id === ZIP64_EXTRA_ID) {
      if (dataLength < 8 * wanted.length) throw new ZipError(file, `${what}: zip64 extra field is too short`);
      wanted.forEach((k, i) => {
        sizes[k] = readUint64(view, pos + 4 + 8 * i, file, `${what} zip64 ${k}`);
      });
      return;
    }
    pos += 4 + dataLength;
  }
  throw new ZipError(file, `${what}: 32-bit size or offset is 0xFFFFFFFF but there is no zip64 extra field`);
}

function entryContents(bytes: Uint8Array, view: DataView, entry: CentralEntry, directoryOffset: number, file: string): Uint8Array {
  const what = `entry ${entry.name}`;
  if (entry.flags & FLAG_ENCRYPTED) throw new ZipError(file, `${what} is encrypted`);
  if (entry.method !== METHOD_STORED) {
    throw new ZipError(file, `${what} uses compression method ${entry.method}; only stored (uncompressed) entries are supported, as torch.save writes them`);
  }
  if (entry.compressedSize !== entry.size) {
    throw new ZipError(file, `${what} is stored but its compressed size ${entry.compressedSize} differs from its size ${entry.size}`);
  }
  const local = entry.localOffset;
  if (local + LOCAL_HEADER_SIZE > directoryOffset || view.getUint32(local, true) !== LOCAL_HEADER) {
    throw new ZipError(file, `${what}: no local file header at offset ${local}: truncated or corrupt`);
  }
  const nameLength = view.getUint16(local + 26, true);
  const extraLength = view.getUint16(local + 28, true);
  if (decodeName(view, local + LOCAL_HEADER_SIZE, nameLength, file) !== entry.name) {
    throw new ZipError(file, `${what}: local header at offset ${local} names a different entry`);
  }
  if (view.getUint16(local + 8, true) !== entry.method) {
    throw new ZipError(file, `${what}: local header and central directory disagree on the compression method`);
  }
  const start = local + LOCAL_HEADER_SIZE + nameLength + extraLength;
  const end = start + entry.size;
  if (end > directoryOffset) {
    throw new ZipError(file, `${what} (${entry.size} bytes at offset ${start}) runs into the central directory at ${directoryOffset}: truncated or corrupt`);
  }
  const contents = bytes.subarray(start, end);
  if (crc32(contents) !== entry.crc) throw new ZipError(file, `${what}: CRC-32 mismatch, the data is corrupt`);
  return contents;
}

function decodeName(view: DataView, start: number, length: number, file: string): string {
  if (start + length > view.byteLength) throw new ZipError(file, `entry name at offset ${start} (${length} bytes) runs past the end of the archive: truncated or corrupt`);
  const raw = new Uint8Array(view.buffer, view.byteOffset + start, length);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new ZipError(file, `entry name at offset ${start} is not valid UTF-8`);
  }
}

function readUint64(view: DataView, pos: number, file: string, what: string): number {
  const value = view.getBigUint64(pos, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(file, `${what} ${value} is beyond any real archive`);
  return Number(value);
}
