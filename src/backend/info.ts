// What the engine says of its backend, wherever it runs: no imports, so the browser entry and the CLI's option
// definitions read it without loading a backend.

export const BACKEND_CHOICES = ["auto", "native", "node-gpu", "node", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The backends a page has (src/web/backends.ts) besides wasm and cpu. */
export type WebBackendChoice = "webgpu" | "webgl";

export interface BackendInfo {
  /** The tfjs backend name now active ("tensorflow", "wasm", "cpu", "webgl"…). */
  name: string;
  choice: Exclude<BackendChoice, "auto"> | WebBackendChoice;
  /** Why this one: what was tried before it and why it was passed over. */
  reason: string;
}

/** The precisions a model's matrix products can run at. fp32 is the default and the parity guarantee;
 *  bf16 and int8 are opt-in and native only. */
export const PRECISIONS = ["fp32", "bf16", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** A weight matrix's role, from its shape [in, out] and the model's widths: the feed-forward's two products,
 *  the hidden × hidden ones (query, key, value, attention output, pooler), and the adapters' bottlenecks. */
export type WeightRole = "ffn_in" | "ffn_out" | "hidden" | "adapter";

/** How the products of one model run, on a backend with reduced precision (native). */
export interface PrecisionPolicy {
  precision: Precision;
  /** The precision of each weight's products, by role. */
  weights: Record<WeightRole, Precision>;
  /** Products of two activations (attention's Q·Kᵀ and P·V): f32 or both operands rounded to bf16. */
  activations: "fp32" | "bf16";
  /** int8 activations are quantized with one (min, max) per product input ("tensor") or per row. */
  int8Scales: "tensor" | "row";
  /** hidden_size and intermediate_size, which tell the roles apart. */
  widths: { hidden: number; intermediate: number };
}

/** @internal Overrides of the measured defaults, for the fidelity and speed measurements. */
export type PrecisionTuning = Partial<Pick<PrecisionPolicy, "activations" | "int8Scales">> & { weights?: Partial<Record<WeightRole, Precision>> };
