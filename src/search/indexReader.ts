// Streams the rows of an embedding index as `specter2 embed` writes it: JSONL lines
// {"paper_id", "embedding"[, "title"]}, or a float32 .npy [n, hidden] with its ids in <name>.ids.jsonl.
// One line (JSONL) or one block of rows (.npy) is in memory at a time; every row is checked against the
// model's hidden size, and errors name the file and line or row.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { readJsonl } from "../io/jsonl";
import { parseNpyHeader } from "../io/npy";
import { idsPathFor, RecordId } from "../pipeline/sink";

export interface IndexRow {
  id: RecordId;
  /** May be a view into a buffer reused for later rows: copy it to keep it. */
  embedding: Float32Array;
  title?: string;
}

/** `.npy` by extension (as `specter2 embed` chooses), JSONL otherwise. */
export function readIndex(path: string, dim: number): AsyncGenerator<IndexRow> {
  return path.endsWith(".npy") ? readNpyIndex(path, dim) : readJsonlIndex(path, dim);
}

async function* readJsonlIndex(path: string, dim: number): AsyncGenerator<IndexRow> {
  for await (const { lineNumber, value } of readJsonl(path)) {
    const where = `${path}:${lineNumber}`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error(`${where}: expected {"paper_id": …, "embedding": [...]} as written by specter2 embed`);
    }
    const { paper_id: id, embedding, title } = value as Record<string, unknown>;
    checkId(id, where);
    if (title !== undefined && title !== null && typeof title !== "string") throw new Error(`${where}: "title" must be a string`);
    yield { id, embedding: toVector(embedding, dim, where), ...(typeof title === "string" ? { title } : {}) };
  }
}

function checkId(id: unknown, where: string): asserts id is RecordId {
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return;
  throw new Error(`${where}: "paper_id" must be a string or a number, got ${id === undefined ? "nothing" : JSON.stringify(id)}`);
}

function toVector(embedding: unknown, dim: number, where: string): Float32Array {
  if (!Array.isArray(embedding)) throw new Error(`${where}: "embedding" must be an array of numbers`);
  if (embedding.length !== dim) {
    throw new Error(`${where}: embedding has ${embedding.length} values, the model's hidden size is ${dim} (was the index made with another model?)`);
  }
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const x: unknown = embedding[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw new Error(`${where}: embedding[${i}] is ${JSON.stringify(x)}, not a finite number`);
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
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const ids = readJsonl(idsPath)[Symbol.asyncIterator]();
  try {
    const { rows, cols, dataOffset } = readNpyShape(fd, path);
    if (cols !== dim) throw new Error(`${path}: rows of ${cols} values (shape (${rows}, ${cols})), the model's hidden size is ${dim} (was the index made with another model?)`);
    const expectedBytes = dataOffset + rows * cols * 4;
    const actualBytes = fstatSync(fd).size;
    if (actualBytes !== expectedBytes) {
      throw new Error(`${path}: ${actualBytes} bytes, but shape (${rows}, ${cols}) needs ${expectedBytes}: truncated or not finished (an interrupted embed leaves .partial files)`);
    }
    const blockRows = Math.max(1, Math.floor(BLOCK_BYTES / (cols * 4)));
    for (let start = 0; start < rows; start += blockRows) {
      const n = Math.min(blockRows, rows - start);
      // A fresh Float32Array per block: its buffer is 4-byte aligned, and the file is little-endian like the host.
      const block = new Float32Array(n * cols);
      readSync(fd, new Uint8Array(block.buffer), 0, block.byteLength, dataOffset + start * cols * 4);
      for (let r = 0; r < n; r++) {
        const next = await ids.next();
        if (next.done) throw new Error(`${idsPath}: has ${start + r} ids, but ${path} has ${rows} rows`);
        checkId(next.value.value, `${idsPath}:${next.value.lineNumber}`);
        yield { id: next.value.value, embedding: block.subarray(r * cols, (r + 1) * cols) };
      }
    }
    const extra = await ids.next();
    if (!extra.done) throw new Error(`${idsPath}:${extra.value.lineNumber}: more ids than the ${rows} rows of ${path}`);
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
