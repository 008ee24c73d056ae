// What a backend offers the model beyond tfjs' own kernels, and at which precision the model's matrix products run.
// The runtime that initialised the backend makes one BackendCapabilities (src/backend/capabilities.ts) and hands it
// to the model when it loads; the model asks that object, never the backend's name or any global state, so two
// models of different precisions can share one backend. docs/architecture.md, "Backends", says who offers what.
import * as tf from "@tensorflow/tfjs-core";
import type { Activation } from "./config";

/** The precisions a model's matrix products can run at. fp32 is the default and the parity guarantee; bf16 and
 *  int8 are opt-in, on a backend that offers them. */
export const PRECISIONS = ["fp32", "bf16", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** A weight matrix's role: the feed-forward's two products, the hidden × hidden ones (query, key, value, attention
 *  output, pooler), and the adapters' bottlenecks. Each module names the role of the matrices it loads. */
export type WeightRole = "ffn_in" | "ffn_out" | "hidden" | "adapter";

/** int8 activations are quantized with one (min, max) per product input ("tensor") or per row. */
export type Int8Scales = "tensor" | "row";

/** How the products of one model run. */
export interface PrecisionPolicy {
  precision: Precision;
  /** The precision of each weight's products, by role. */
  weights: Record<WeightRole, Precision>;
  /** Products of two activations (attention's Q·Kᵀ and P·V): fp32, or both operands rounded to bf16. */
  activations: "fp32" | "bf16";
  int8Scales: Int8Scales;
}

/** Overrides of a precision's defaults (measurements of fidelity and speed use them). */
export type PrecisionOverrides = Partial<Pick<PrecisionPolicy, "activations" | "int8Scales">> & { weights?: Partial<Record<WeightRole, Precision>> };

/**
 * Which products run reduced at each precision, chosen by measured fidelity (benchmarks/precision.ts; the tables are
 * in docs/backends.md, "Precision"). bf16: every product, attention's included. int8: the feed-forward's two products
 * (two thirds of the projection work) with activation ranges per row; the hidden × hidden products, the adapters and
 * attention's in bf16, because every weight product in int8 lost measurably more cosine to fp32 than the
 * feed-forward's alone.
 */
const DEFAULT_POLICIES: Record<Precision, Omit<PrecisionPolicy, "precision">> = {
  fp32: { weights: { ffn_in: "fp32", ffn_out: "fp32", hidden: "fp32", adapter: "fp32" }, activations: "fp32", int8Scales: "row" },
  bf16: { weights: { ffn_in: "bf16", ffn_out: "bf16", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
  int8: { weights: { ffn_in: "int8", ffn_out: "int8", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
};

/** The policy a model loaded at `precision` runs under. */
export function precisionPolicy(precision: Precision, overrides: PrecisionOverrides = {}): PrecisionPolicy {
  const d = DEFAULT_POLICIES[precision];
  return {
    precision,
    weights: { ...d.weights, ...overrides.weights },
    activations: overrides.activations ?? d.activations,
    int8Scales: overrides.int8Scales ?? d.int8Scales,
  };
}

/** How attention's two products are issued: one BatchMatMul each over [batch, heads, ·, ·] ("batched": where the
 *  backend has a real batched kernel, and on GPUs, which must not read data back per head), or 2-D products per row
 *  and head ("perHead": where only unbatched, untransposed products are fast, as on tfjs' wasm and cpu). */
export type AttentionShape = "batched" | "perHead";

/** What the engine tells of the backend its forward passes run on. */
export interface BackendInfo {
  /** The tfjs backend name now active ("tensorflow", "wasm", "cpu", "webgl"…). */
  name: string;
  /** The choice that initialised it ("native", "wasm", "webgpu"…). */
  choice: string;
  /** Why this one: what was tried before it and why it was passed over. */
  reason: string;
}

/** What the backend offers the model beyond tfjs' kernels. */
export interface BackendCapabilities {
  readonly attention: AttentionShape;
  /** The activations the backend's fused matMul (tfjs' _FusedMatMul) applies itself, and the name it knows them by. */
  readonly fusedActivations: Readonly<Partial<Record<Activation, string>>>;
  /** The precisions its products run at (always fp32). */
  readonly precisions: readonly Precision[];
  /** `weight` ([in, out]) is the model's and never changes: the backend may keep it in a faster layout, packed at
   *  `precision` (its float32 values then gone: reading it back gives the values the products use). */
  keepWeight(weight: tf.Tensor2D, precision: Precision, int8Scales: Int8Scales): void;
  /** a · b (bᵀ with `transposeB`) of two activations, both rounded to bf16 first where `precision` says so. */
  activationProduct<T extends tf.Tensor>(a: T, b: T, transposeB: boolean, precision: PrecisionPolicy["activations"]): T;
  /** A forward pass is over and its tensors are disposed. */
  endPass(): void;
  /** A model has loaded (its float32 weights packed and dropped): memory let go may return to the system. */
  releaseMemory(): void;
}

/** A backend that offers nothing beyond tfjs' kernels: fp32 only, no fused activation, attention issued as `attention`. */
export function plainCapabilities(attention: AttentionShape): BackendCapabilities {
  return {
    attention,
    fusedActivations: {},
    precisions: ["fp32"],
    keepWeight: () => undefined,
    activationProduct: (a, b, transposeB) => tf.matMul(a, b, false, transposeB),
    endPass: () => undefined,
    releaseMemory: () => undefined,
  };
}
