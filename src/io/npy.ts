// NumPy .npy (format version 1.0) for float32 matrices: magic, version, header length, a Python
// dict literal padded with spaces to a fixed size, then the rows little-endian.
import type { ErrorCode } from "../errors";
import { Specter2Error } from "../errors";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** A fixed header size (a multiple of 64, as numpy aligns it) leaves room for any shape, so the
 *  header can be written first as a placeholder and rewritten in place once the row count is known. */
export const NPY_HEADER_BYTES = 128;

export function npyHeader(rows: number, cols: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const prefix = 10; // magic (6) + version (2) + header length (2)
  const room = NPY_HEADER_BYTES - prefix;
  if (dict.length + 1 > room) throw new Error(`npy header for shape (${rows}, ${cols}) does not fit in ${NPY_HEADER_BYTES} bytes`);
  const out = new Uint8Array(NPY_HEADER_BYTES);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, room, true);
  const text = dict.padEnd(room - 1, " ") + "\n";
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  return out;
}

/** Reads back what npyHeader wrote (and any float32 C-order 2-D .npy), for resume and tests. A file that
 *  is not one is a Specter2Error of `code` (BAD_INPUT for an input, OUTPUT_ERROR for our own output). */
export function parseNpyHeader(bytes: Uint8Array, file: string, code: ErrorCode = "BAD_INPUT"): { rows: number; cols: number; dataOffset: number } {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Specter2Error(code, `${file}: not a .npy file`, { file });
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const text = Buffer.from(bytes.subarray(10, 10 + length)).toString("latin1");
  const m = /'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\)/.exec(text);
  if (bytes[6] !== 1 || !m) throw new Specter2Error(code, `${file}: not a float32 C-order 2-D .npy (header ${JSON.stringify(text.trim())})`, { file });
  return { rows: Number(m[1]), cols: Number(m[2]), dataOffset: 10 + length };
}
