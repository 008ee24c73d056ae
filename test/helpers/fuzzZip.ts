// Hand-made stored zip archives with lying fields, for the huge-length tests (PKWARE APPNOTE.TXT §4.3 layouts).
import { crc32 } from "../../src/weights/torch/crc32";

export interface ZipLies {
  /** Sizes in the central directory, given through a zip64 extra field (the 32-bit fields say 0xFFFFFFFF). */
  zip64Size?: bigint;
  /** The local header's name length. */
  localNameLength?: number;
  /** An entry count in a zip64 end record (the classic record says 0xFFFF). */
  zip64Count?: bigint;
}

export function storedZip(entries: [string, Uint8Array][], lies: ZipLies = {}): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(lies.localNameLength ?? nameBytes.length, 26);
    const extra = Buffer.alloc(lies.zip64Size === undefined ? 0 : 20);
    if (lies.zip64Size !== undefined) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(lies.zip64Size, 4);
      extra.writeBigUInt64LE(lies.zip64Size, 12);
    }
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt32LE(crc32(data), 16);
    header.writeUInt32LE(lies.zip64Size === undefined ? data.length : 0xffffffff, 20);
    header.writeUInt32LE(lies.zip64Size === undefined ? data.length : 0xffffffff, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt32LE(offset, 42);
    central.push(header, nameBytes, extra);
    parts.push(local, nameBytes, Buffer.from(data));
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (lies.zip64Count !== undefined) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(lies.zip64Count, 24);
    record.writeBigUInt64LE(lies.zip64Count, 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(lies.zip64Count === undefined ? entries.length : 0xffff, 8);
  end.writeUInt16LE(lies.zip64Count === undefined ? entries.length : 0xffff, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, directory, ...tail, end]));
}
