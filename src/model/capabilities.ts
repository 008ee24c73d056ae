// What a backend offers the model beyond tfjs' own kernels. The runtime that initialised the backend makes one
// BackendCapabilities (src/backend/capabilities.ts) and hands it to the model when it loads, with the model's precision
// policy (./config.ts); the model asks that object, never the backend's name or any global state, so two models of
// different precisions can share one backend. docs/architecture.md, "Backends", says who offers what.
import type * as tf from "@tensorflow/tfjs-core";
import type { Activation, Int8Scales, Precision, PrecisionPolicy } from "./config";

/** How attention's two products are issued: one BatchMatMul each over [batch, heads, ·, ·] ("batched": where the
 *  backend has a real batched kernel, and on GPUs, which must not read data back per head), or 2-D products per row
 *  and head ("perHead": where only unbatched, untransposed products are fast, as on tfjs' wasm and cpu). */
export type AttentionShape = "batched" | "perHead";

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
