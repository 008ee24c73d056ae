// Layer-by-layer comparison of our forward pass with a PyTorch reference file (convert/reference/),
// used by `specter2 parity` and by the parity tests. A mismatch is reported where it starts.
import { existsSync, readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { DEFAULT_TOLERANCE } from "./engine/defaults";
export { DEFAULT_TOLERANCE };
import { Specter2Error } from "./errors";
import type { Specter2 } from "./node/specter2";
import type { RawTensor } from "./weights/dtypes";
import { alignedBytes, toFloat32 } from "./weights/dtypes";
import { readSafetensors } from "./node/modelDirectory";

export const REFERENCE_FORMAT = "specter2-tfjs-reference";
export const REFERENCE_FORMAT_VERSION = 1;

export interface ReferenceRun {
  name: string;
  adapterDir: string | null;
}

export interface ReferenceMeta {
  format: string;
  formatVersion: number;
  command: string;
  runs: ReferenceRun[];
}

export interface LayerDiff {
  run: string;
  /** "embeddings", "layer 1" … or "cls". */
  what: string;
  maxAbs: number;
  maxRel: number;
  /** Row/position/channel of the largest absolute difference. */
  worstAt: number[];
  /** Lowest per-row cosine similarity (the embeddings only). */
  minCosine?: number;
  ok: boolean;
}

export function readReference(path: string): { meta: ReferenceMeta; tensors: Map<string, RawTensor> } {
  const metaPath = path.replace(/\.safetensors$/, ".json");
  if (!existsSync(metaPath)) throw new Error(`${metaPath}: missing (the reference's metadata, next to ${path})`);
  const meta = JSON.parse(readFileSync(metaPath, "utf8")) as ReferenceMeta;
  if (meta.format !== REFERENCE_FORMAT || meta.formatVersion !== REFERENCE_FORMAT_VERSION) {
    throw new Error(
      `${metaPath}: reference format ${meta.format} v${meta.formatVersion}, expected ${REFERENCE_FORMAT} v${REFERENCE_FORMAT_VERSION}: regenerate it (${meta.command ?? "convert/reference"})`,
    );
  }
  return { meta, tensors: readSafetensors(path).tensors };
}

function tensorOf(tensors: Map<string, RawTensor>, name: string, path: string): RawTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`${path}: reference tensor "${name}" missing`);
  return t;
}

function int32Rows(t: RawTensor, name: string): number[][] {
  const values = t.dtype === "I32" ? new Int32Array(alignedBytes(t.data)) : t.dtype === "I64" ? Int32Array.from(new BigInt64Array(alignedBytes(t.data)), Number) : null;
  if (!values) throw new Error(`reference tensor "${name}" is ${t.dtype}, expected I32 or I64`);
  const [rows, cols] = t.shape;
  return Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * cols, (r + 1) * cols)));
}

/** Compares every run of the reference that the model can reproduce (the base, and each loaded adapter). */
export async function compareWithReference(engine: Specter2, referencePath: string, tolerance = DEFAULT_TOLERANCE): Promise<LayerDiff[]> {
  // Layer outputs live only where the model computes: on this thread.
  const model = engine.local;
  if (!model) throw new Specter2Error("BAD_INPUT", `parity compares every layer, which only an in-process model has: load ${engine.dir} with workers: 0`, { field: "workers" });
  const { meta, tensors } = readReference(referencePath);
  const idRows = int32Rows(tensorOf(tensors, "input_ids", referencePath), "input_ids");
  const maskRows = int32Rows(tensorOf(tensors, "attention_mask", referencePath), "attention_mask");
  const lengths = maskRows.map((row) => row.reduce((a, b) => a + b, 0));
  const seq = idRows[0].length;
  const hidden = model.model.config.hidden_size;
  const diffs: LayerDiff[] = [];
  for (const run of meta.runs) {
    if (run.name !== "base" && !model.adapters.has(run.name)) continue;
    const adapter = run.name === "base" ? null : model.adapters.get(run.name);
    const ids = tf.tensor2d(idRows.flat(), [idRows.length, seq], "int32");
    const mask = tf.tensor2d(maskRows.flat(), [idRows.length, seq], "int32");
    const { pooled, hiddenStates } = model.model.forward(ids, mask, { adapter, hiddenStates: true });
    ids.dispose();
    mask.dispose();
    const states = hiddenStates ?? [];
    for (let k = 0; k < states.length; k++) {
      const name = `${run.name}.hidden.${k}`;
      const ours = (await states[k].data()) as Float32Array;
      const ref = toFloat32(tensorOf(tensors, name, referencePath), name);
      diffs.push({ run: run.name, what: k === 0 ? "embeddings" : `layer ${k}`, ...compareValid(ours, ref, lengths, seq, hidden, tolerance) });
    }
    const clsName = `${run.name}.cls`;
    const ourCls = (await pooled.data()) as Float32Array;
    const refCls = toFloat32(tensorOf(tensors, clsName, referencePath), clsName);
    const cls = compareValid(
      ourCls,
      refCls,
      lengths.map(() => 1),
      1,
      hidden,
      tolerance,
    );
    const minCosine = minRowCosine(ourCls, refCls, hidden);
    diffs.push({ run: run.name, what: "cls", ...cls, minCosine, ok: cls.ok && minCosine >= tolerance.minCosine });
    for (const t of [pooled, ...states]) t.dispose();
  }
  return diffs;
}

/** Max differences over the valid (unpadded) positions of [rows, seq, hidden] arrays. */
function compareValid(ours: Float32Array, ref: Float32Array, lengths: number[], seq: number, hidden: number, tolerance: typeof DEFAULT_TOLERANCE) {
  let maxAbs = 0;
  let maxRel = 0;
  let worstAt = [0, 0, 0];
  lengths.forEach((length, r) => {
    for (let p = 0; p < length; p++) {
      for (let c = 0; c < hidden; c++) {
        const i = (r * seq + p) * hidden + c;
        const d = Math.abs(ours[i] - ref[i]);
        if (!(d <= maxAbs)) {
          maxAbs = d; // NaN lands here too and stays: NaN is never within tolerance.
          worstAt = [r, p, c];
        }
        maxRel = Math.max(maxRel, d / Math.max(Math.abs(ref[i]), 1e-6));
      }
    }
  });
  return { maxAbs, maxRel, worstAt, ok: maxAbs <= tolerance.maxAbs };
}

function minRowCosine(a: Float32Array, b: Float32Array, hidden: number): number {
  let min = 1;
  for (let r = 0; r < a.length / hidden; r++) {
    let dot = 0,
      na = 0,
      nb = 0;
    for (let c = r * hidden; c < (r + 1) * hidden; c++) {
      dot += a[c] * b[c];
      na += a[c] * a[c];
      nb += b[c] * b[c];
    }
    const cos = dot / Math.sqrt(na * nb);
    if (!(cos >= min)) min = cos;
  }
  return min;
}

export function formatParityTable(diffs: LayerDiff[]): string {
  const lines = ["run           what         max |Δ|     max rel     worst at [row, pos, ch]  cosine     ok"];
  for (const d of diffs) {
    lines.push(
      `${d.run.padEnd(13)} ${d.what.padEnd(12)} ${d.maxAbs.toExponential(2).padEnd(11)} ${d.maxRel.toExponential(2).padEnd(11)} ${JSON.stringify(d.worstAt).padEnd(24)} ${(d.minCosine === undefined ? "" : d.minCosine.toFixed(7)).padEnd(10)} ${d.ok ? "yes" : "NO"}`,
    );
  }
  return lines.join("\n");
}
