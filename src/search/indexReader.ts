// Streams the rows of an embedding index as `specter2 embed` writes it: JSONL lines
// {"paper_id", "embedding"[, "title"]}, or a float32 .npy [n, hidden] with its ids in <name>.ids.jsonl.
// One line (JSONL) or one block of rows (.npy) is in memory at a time; every row is checked against the
// model's hidden size, and errors name the file and line or row.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { readJsonl } from "../io/jsonl";
import { parseNpyHeader } from "../io/npy";
import type { RecordId } from "../pipeline/sink";
import { idsPathFor } from "../pipeline/sink";
import { errnoOrText, Specter2Error } from "../errors";

export interface IndexRow {
  id: RecordId;
  /** May be a view into a buffer reused for later rows: copy it to keep it. */
  embedding: Float32Array;
  title?: string;
}

/** Where in the index a row comes from: its file and (JSONL, ids files) line. */
interface At {
  file: string;
  line?: number;
}

function whereOf(at: At): string {
  return at.line === undefined ? at.file : `${at.file}:${at.line}`;
}

/** An index that cannot be read as one: BAD_INPUT, naming the file (and line). */
function indexError(message: string, at: At, cause?: unknown): Specter2Error {
  return new Specter2Error("BAD_INPUT", message, { file: at.file, line: at.line }, cause === undefined ? undefined : { cause });
}

/** `.npy` by extension (as `specter2 embed` chooses), JSONL otherwise. */
export function readIndex(path: string, dim: number): AsyncGenerator<IndexRow> {
  return path.endsWith(".npy") ? readNpyIndex(path, dim) : readJsonlIndex(path, dim);
}

async function* readJsonlIndex(path: string, dim: number): AsyncGenerator<IndexRow> {
  for await (const { lineNumber, value } of readJsonl(path)) {
    const at: At = { file: path, line: lineNumber };
    const where = whereOf(at);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw indexError(`${where}: expected {"paper_id": …, "embedding": [...]} as written by specter2 embed`, at);
    }
    const { paper_id: id, embedding, title } = value as Record<string, unknown>;
    checkId(id, at);
    if (title !== undefined && title !== null && typeof title !== "string") throw indexError(`${where}: "title" must be a string`, at);
    yield { id, embedding: toVector(embedding, dim, at), ...(typeof title === "string" ? { title } : {}) };
  }
}

function checkId(id: unknown, at: At): asserts id is RecordId {
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return;
  throw indexError(`${whereOf(at)}: "paper_id" must be a string or a number, got ${id === undefined ? "nothing" : JSON.stringify(id)}`, at);
}

function toVector(embedding: unknown, dim: number, at: At): Float32Array {
  const where = whereOf(at);
  if (!Array.isArray(embedding)) throw indexError(`${where}: "embedding" must be an array of numbers`, at);
  if (embedding.length !== dim) {
    throw indexError(`${where}: embedding has ${embedding.length} values, the model's hidden size is ${dim} (was the index made with another model?)`, at);
  }
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const x: unknown = embedding[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw indexError(`${where}: embedding[${i}] is ${JSON.stringify(x)}, not a finite number`, at);
    out[i] = x;
  }
  return out;
}

/** Rows read per disk read: about 1 MiB. */
const BLOCK_BYTES = 1 << 20;

async function* readNpyIndex(path: string, dim: number): AsyncGenerator<IndexRow> {
  const idsPath = idsPathFor(path);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw indexError(`${path}: cannot read (${errnoOrText(e)})`, { file: path }, e);
  }
  const ids = readJsonl(idsPath)[Symbol.asyncIterator]();
  try {
    const { rows, cols, dataOffset } = readNpyShape(fd, path);
    if (cols !== dim) {
      throw indexError(`${path}: rows of ${cols} values (shape (${rows}, ${cols})), the model's hidden size is ${dim} (was the index made with another model?)`, { file: path });
    }
    const expectedBytes = dataOffset + rows * cols * 4;
    const actualBytes = fstatSync(fd).size;
    if (actualBytes !== expectedBytes) {
      throw indexError(`${path}: ${actualBytes} bytes, but shape (${rows}, ${cols}) needs ${expectedBytes}: truncated or not finished (an interrupted embed leaves .partial files)`, {
        file: path,
      });
    }
    const blockRows = Math.max(1, Math.floor(BLOCK_BYTES / (cols * 4)));
    for (let start = 0; start < rows; start += blockRows) {
      const n = Math.min(blockRows, rows - start);
      // A fresh Float32Array per block: its buffer is 4-byte aligned, and the file is little-endian like the host.
      const block = new Float32Array(n * cols);
      readSync(fd, new Uint8Array(block.buffer), 0, block.byteLength, dataOffset + start * cols * 4);
      for (let r = 0; r < n; r++) {
        const next = await ids.next();
        if (next.done) throw indexError(`${idsPath}: has ${start + r} ids, but ${path} has ${rows} rows`, { file: idsPath });
        checkId(next.value.value, { file: idsPath, line: next.value.lineNumber });
        yield { id: next.value.value, embedding: block.subarray(r * cols, (r + 1) * cols) };
      }
    }
    const extra = await ids.next();
    if (!extra.done) {
      throw indexError(`${idsPath}:${extra.value.lineNumber}: more ids than the ${rows} rows of ${path}`, { file: idsPath, line: extra.value.lineNumber });
    }
  } finally {
    closeSync(fd);
    await ids.return?.(undefined);
  }
}

function readNpyShape(fd: number, path: string): ReturnType<typeof parseNpyHeader> {
  const prefix = new Uint8Array(10);
  readSync(fd, prefix, 0, 10, 0);
  const headerLength = new DataView(prefix.buffer).getUint16(8, true);
  const header = new Uint8Array(10 + headerLength);
  readSync(fd, header, 0, header.byteLength, 0);
  return parseNpyHeader(header, path);
}
