// Safetensors files on disk (Node): read whole into one buffer after the header length is checked against the
// file's size, or written atomically. The format itself is src/weights/safetensors.ts.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { RawTensor } from "../weights/dtypes";
import type { SafetensorsFile } from "../weights/safetensors";
import { checkHeaderLength, parseSafetensors, SafetensorsError, serializeSafetensors } from "../weights/safetensors";
import { writeFileAtomic } from "../io/atomicFile";
import { Specter2Error } from "../errors";

/** Reads and validates a safetensors file; tensor data are views into one buffer. */
export function readSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === "ENOENT" ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT";
    throw new Specter2Error(code, (e as Error).message, { file: path }, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(path, `file is ${size} bytes, shorter than the 8-byte header length`);
    const lengthBytes = Buffer.alloc(8);
    readSync(fd, lengthBytes, 0, 8, 0);
    const headerLength = checkHeaderLength(path, lengthBytes.readBigUInt64LE(0), size);
    // The length is checked against the file size before the rest is read: a hostile length allocates nothing.
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) throw new SafetensorsError(path, `file shrank while reading (${done} of ${size} bytes)`);
      done += n;
    }
    return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, size), path, headerLength);
  } finally {
    closeSync(fd);
  }
}

export function writeSafetensors(path: string, tensors: Map<string, RawTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
