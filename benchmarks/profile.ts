// Where a backend's time goes: one forward pass under tf.profile, kernel times summed per op kind,
// matrix products split by role (their FLOPs give each kind's GFLOP/s), and the time outside kernels.
import * as tf from "@tensorflow/tfjs-core";
import type { Precision } from "../src/model/config";
import { Specter2 } from "../src/node/specter2";
import { ADAPTER } from "./engines";

export interface OpKindTime {
  kind: string;
  calls: number;
  ms: number;
  /** Matrix products only. */
  gflops?: number;
}

export interface Profile {
  backend: string;
  batch: number;
  length: number;
  wallMs: number;
  kinds: OpKindTime[];
}

function product(shapes: number[][]): number {
  const [a, b] = shapes;
  const [m, k] = a.slice(-2);
  const n = b[b.length - 1];
  return 2 * m * k * n * a.slice(0, -2).reduce((x, y) => x * y, 1);
}

/** Matrix products by role: weight products have the hidden or intermediate width on both sides. */
function kindOf(name: string, shapes: number[][], headDim: number): string {
  if (name !== "BatchMatMul" && name !== "_FusedMatMul") return name;
  const inner = shapes[0][shapes[0].length - 1];
  const out = shapes[1][shapes[1].length - 1];
  return inner === headDim || out === headDim ? `${name} (attention, per head)` : `${name} (projections, feed-forward, adapter)`;
}

export async function profileForward(model: string, batch: number, length: number, backend: "wasm" | "native" | "cpu" = "wasm", precision: Precision = "fp32"): Promise<Profile> {
  const engine = await Specter2.load(model, { workers: 0, backend, adapters: [ADAPTER], precision });
  const m = engine.local!;
  const headDim = m.model.config.hidden_size / m.model.config.num_attention_heads;
  const adapter = m.adapters.get(ADAPTER);
  const ids = tf.tensor2d(
    Array.from({ length: batch * length }, (_, i) => (i % length === 0 ? 2 : 1000 + (i % 20000))),
    [batch, length],
    "int32",
  );
  const mask = tf.ones<tf.Rank.R2>([batch, length], "int32");
  const run = () => m.model.forward(ids, mask, { adapter }).pooled;
  run().dispose(); // warm-up: first calls allocate the wasm heap
  const start = performance.now();
  const info = await tf.profile(run);
  const wallMs = performance.now() - start;
  const kinds = new Map<string, OpKindTime>();
  // Entries named `…__op` are op scopes around the kernels listed next to them: counting both would double.
  for (const k of info.kernels.filter((k) => !k.name.endsWith("__op"))) {
    const kind = kindOf(k.name, k.inputShapes, headDim);
    const entry = kinds.get(kind) ?? { kind, calls: 0, ms: 0 };
    const ms = await k.kernelTimeMs;
    entry.calls++;
    entry.ms += typeof ms === "number" ? ms : 0;
    if (kind !== k.name) entry.gflops = (entry.gflops ?? 0) + product(k.inputShapes) / 1e9;
    kinds.set(kind, entry);
  }
  tf.dispose([ids, mask, info.result]);
  await engine.close();
  const sorted = [...kinds.values()].sort((a, b) => b.ms - a.ms);
  for (const e of sorted) if (e.gflops !== undefined) e.gflops = e.gflops / (e.ms / 1000);
  return { backend, batch, length, wallMs, kinds: sorted };
}
