// Telling the backend which tensors never change (model weights), so it may keep them in a faster
// layout: the native backend pre-packs matrix-product weights for oneDNN, at the precision the model
// was loaded with (DESIGN.md §6). Other backends ignore it. No Node imports: the browser entry uses it.
import * as tf from "@tensorflow/tfjs-core";

import type { Precision, PrecisionPolicy, PrecisionTuning, WeightRole } from "./info";
export { PRECISIONS, type Precision, type PrecisionPolicy, type PrecisionTuning, type WeightRole } from "./info";

export function roleOf(shape: readonly number[], widths: PrecisionPolicy["widths"]): WeightRole {
  const [k, n] = shape;
  if (k === widths.hidden && n === widths.intermediate) return "ffn_in";
  if (k === widths.intermediate && n === widths.hidden) return "ffn_out";
  if (k === widths.hidden && n === widths.hidden) return "hidden";
  return "adapter";
}

/**
 * Which products run reduced at each precision, decided by measured fidelity (benchmarks/precision.ts; docs/backends.md
 * "Precision" has the tables). bf16: every product, attention's included (it costs ~3e-6 of cosine). int8: the
 * feed-forward's two products (two thirds of the projection FLOPs) with activation ranges per row; the hidden × hidden
 * products (query, key, value, attention output, pooler), the adapters and attention's in bf16: on the full-size model
 * every weight product in int8 measured a min cosine to fp32 of 0.9958, the feed-forward's alone 0.9986.
 */
const DEFAULTS: Record<Precision, Omit<PrecisionPolicy, "precision" | "widths">> = {
  fp32: { weights: { ffn_in: "fp32", ffn_out: "fp32", hidden: "fp32", adapter: "fp32" }, activations: "fp32", int8Scales: "row" },
  bf16: { weights: { ffn_in: "bf16", ffn_out: "bf16", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
  int8: { weights: { ffn_in: "int8", ffn_out: "int8", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
};

/** The policy a model loaded at `precision` runs under (`tuning`: @internal overrides for measurements). */
export function precisionPolicy(precision: Precision, widths: PrecisionPolicy["widths"], tuning: PrecisionTuning = {}): PrecisionPolicy {
  const d = DEFAULTS[precision];
  return { precision, widths, weights: { ...d.weights, ...tuning.weights }, activations: tuning.activations ?? d.activations, int8Scales: tuning.int8Scales ?? d.int8Scales };
}

interface ConstantAware {
  markConstant(dataId: tf.DataId, shape: readonly number[]): void;
  setPrecisionPolicy(policy: PrecisionPolicy): void;
  endForwardPass(): void;
  releaseMemory(): void;
}

/** `t` must never be written again (tfjs tensors are immutable; this also promises it is not a view of
 *  memory that changes). Call on the backend the tensor lives on, right after making it. On the native
 *  backend under a bf16 or int8 policy, a weight matrix is packed at that precision and its float32 values
 *  are not kept (reading the tensor back gives the values the products use). */
export function declareConstant(t: tf.Tensor): void {
  (tf.backend() as Partial<ConstantAware>).markConstant?.(t.dataId, t.shape);
}

/** Whether the active backend runs reduced precision (the native backend does). */
export function backendHasPrecision(): boolean {
  return typeof (tf.backend() as Partial<ConstantAware>).setPrecisionPolicy === "function";
}

/**
 * Makes `policy` the active backend's: weights declared constant from now on are packed at its precision, and
 * the products of activations run at its `activations` precision. It stays in force until the next call (a model
 * sets its own before each forward pass, so models of different precisions can share a backend). On a backend
 * without reduced precision, fp32 is a no-op and anything else an error (callers check the backend first).
 */
export function usePrecision(policy: PrecisionPolicy): void {
  const backend = tf.backend() as Partial<ConstantAware>;
  if (backend.setPrecisionPolicy) backend.setPrecisionPolicy(policy);
  else if (policy.precision !== "fp32") throw new Error(`precision ${policy.precision} needs the native backend, not ${tf.getBackend()}`);
}

/** A forward pass is over and its tensors disposed: the native backend sizes the outputs it keeps for reuse by what
 *  recent passes needed at once (src/backend/native/outputPool.ts). Other backends ignore it. */
export function endForwardPass(): void {
  (tf.backend() as Partial<ConstantAware>).endForwardPass?.();
}

/** A model's weights are loaded (their float32 copies packed and dropped): the native backend gives the memory back
 *  to the system. Other backends ignore it. */
export function releaseMemory(): void {
  (tf.backend() as Partial<ConstantAware>).releaseMemory?.();
}
