// Fidelity of a model's final vectors against PyTorch's fp32 reference (test/fixtures/models/<case>), per run (the
// base and each adapter): max |Δ|, and the min and mean cosine over the reference's inputs. What the reduced
// precisions are measured and bounded with (benchmarks/precision.ts, test/native/precision.test.ts).
import * as tf from "@tensorflow/tfjs-core";
import { readReference } from "../../src/parity";
import type { LocalModel } from "../../src/engine/localModel";
import type { RawTensor } from "../../src/weights/dtypes";
import { alignedBytes, toFloat32 } from "../../src/weights/dtypes";

export interface RunFidelity {
  run: string;
  maxAbs: number;
  minCosine: number;
  meanCosine: number;
  rows: number;
}

export interface VectorComparison {
  maxAbs: number;
  minCosine: number;
  meanCosine: number;
}

/** Row by row, rows of `dim` values; NaN anywhere makes maxAbs NaN and the cosines NaN. */
export function compareVectors(ours: Float32Array, reference: Float32Array, dim: number): VectorComparison {
  let maxAbs = 0;
  let minCosine = 1;
  let sum = 0;
  const rows = reference.length / dim;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let c = r * dim; c < (r + 1) * dim; c++) {
      const d = Math.abs(ours[c] - reference[c]);
      if (!(d <= maxAbs)) maxAbs = d;
      dot += ours[c] * reference[c];
      na += ours[c] * ours[c];
      nb += reference[c] * reference[c];
    }
    const cos = dot / Math.sqrt(na * nb);
    if (!(cos >= minCosine)) minCosine = cos;
    sum += cos;
  }
  return { maxAbs, minCosine, meanCosine: sum / rows };
}

function ids(t: RawTensor | undefined, name: string): { rows: number[][]; seq: number } {
  if (t === undefined) throw new Error(`reference tensor ${name} missing`);
  const values = t.dtype === "I32" ? new Int32Array(alignedBytes(t.data)) : Int32Array.from(new BigInt64Array(alignedBytes(t.data)), Number);
  const [rows, seq] = t.shape;
  return { rows: Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * seq, (r + 1) * seq))), seq };
}

/** Every run of the reference the model on this thread (an engine's `local`, loaded with workers: 0) can reproduce:
 *  its final (CLS) vectors compared. */
export async function referenceFidelity(model: LocalModel, referencePath: string): Promise<RunFidelity[]> {
  const { meta, tensors } = readReference(referencePath);
  const input = ids(tensors.get("input_ids"), "input_ids");
  const mask = ids(tensors.get("attention_mask"), "attention_mask");
  const hidden = model.model.config.hidden_size;
  const out: RunFidelity[] = [];
  for (const run of meta.runs) {
    if (run.name !== "base" && !model.adapters.has(run.name)) continue;
    const adapter = run.name === "base" ? null : model.adapters.get(run.name);
    const shape: [number, number] = [input.rows.length, input.seq];
    const pooled = tf.tidy(() => model.model.forward(tf.tensor2d(input.rows.flat(), shape, "int32"), tf.tensor2d(mask.rows.flat(), shape, "int32"), { adapter }).pooled);
    const ours = (await pooled.data()) as Float32Array;
    pooled.dispose();
    const name = `${run.name}.cls`;
    const reference = toFloat32(tensors.get(name)!, name);
    out.push({ run: run.name, rows: input.rows.length, ...compareVectors(ours, reference, hidden) });
  }
  return out;
}
