// The kernels the native backend runs through oneDNN instead of tfjs-backend-cpu's JavaScript loops.
// Each one hands a case it does not cover (other dtypes, empty tensors, PReLU, odd broadcasts) to the
// cpu kernel it replaces, so results and error messages match the cpu backend's there.
import type * as tf from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { Dims3, NativeAddon } from "./addon";
import { ACTIVATION_CODES, INT8_SCALE_CODES } from "./addon";
import type { NativeBackend, ReducedWeight } from "./nativeBackend";
import { ACTIVATION_PRECISION_ATTR } from "./nativeBackend";

export type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: NativeBackend; attrs?: tf.NamedAttrMap }) => tf.TensorInfo;

/** A kernel's result: `compute` fills a recycled output array of the shape's size. */
export function result(backend: NativeBackend, shape: number[], compute: (out: Float32Array) => void): tf.TensorInfo {
  const out = backend.output(product(shape));
  try {
    compute(out);
  } catch (e) {
    backend.discard(out);
    throw e;
  }
  return backend.makeTensorInfo(shape, "float32", out);
}

interface Operand {
  values: Float32Array;
  dims: Dims3;
  outer: number[];
}

function product(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** The values of a non-empty float32 tensor (no copy), or null: what every native kernel takes. A packed weight
 *  matrix has no float32 values: it is unpacked (a copy, the values its products use). */
export function floatValues(t: tf.TensorInfo | undefined, backend: MathBackendCPU): Float32Array | null {
  const reduced = t && (backend as Partial<NativeBackend>).reducedWeight?.(t.dataId);
  if (reduced) return (backend as NativeBackend).unpacked(reduced);
  const values = t?.dtype === "float32" ? backend.data.get(t.dataId)?.values : undefined;
  return values instanceof Float32Array && values.length > 0 ? values : null;
}

/** A float32 tensor of rank ≥ 2 seen as [batch, rows, cols] over its own values (no copy), or null. */
function operand(t: tf.TensorInfo | undefined, backend: MathBackendCPU): Operand | null {
  const values = floatValues(t, backend);
  if (t === undefined || values === null || t.shape.length < 2) return null;
  const outer = t.shape.slice(0, -2);
  return { values, dims: [product(outer), t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]], outer };
}

/** The product's batch dims when the addon's broadcast (equal batches, or one side 1) matches tfjs's. */
function outerShape(a: Operand, b: Operand): number[] | null {
  if (a.dims[0] === b.dims[0] && a.outer.length === b.outer.length && a.outer.every((d, i) => d === b.outer[i])) return a.outer;
  if (a.dims[0] !== 1 && b.dims[0] !== 1) return null;
  const rank = Math.max(a.outer.length, b.outer.length);
  const big = a.dims[0] === 1 ? b.outer : a.outer;
  return [...new Array<number>(rank - big.length).fill(1), ...big];
}

/** A bias that broadcasts to [...outer, m, n] as [batch|1, m|1, n|1], or null. */
function biasDims(shape: readonly number[], outer: number[], m: number, n: number): Dims3 | null {
  const full = [...outer, m, n];
  if (shape.length > full.length) return null;
  const padded = [...new Array<number>(full.length - shape.length).fill(1), ...shape];
  if (!padded.every((d, i) => d === 1 || d === full[i])) return null;
  const batchDims = padded.slice(0, -2);
  const batch = batchDims.every((d) => d === 1) ? 1 : batchDims.every((d, i) => d === outer[i]) ? product(outer) : -1;
  return batch === -1 ? null : [batch, padded[full.length - 2], padded[full.length - 1]];
}

interface MatMulCall {
  a?: tf.TensorInfo;
  b?: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: tf.TensorInfo;
  activation: string;
  alpha: number;
  /** Two activations' product with both operands rounded to bf16 (attention's, where the model's policy says so). */
  bf16?: boolean;
}

/** x · W for a packed weight (W stored [k, n], at fp32, bf16 or int8): the addon's packed product where it covers the case
 *  (x untransposed, W untransposed and unbatched, the bias one value per column), else null. */
function reducedMatMul(addon: NativeAddon, backend: NativeBackend, w: ReducedWeight, c: MatMulCall): tf.TensorInfo | null {
  const a = operand(c.a, backend);
  // tfjs' fused matMul hands the kernel the weight reshaped to [1, k, n] (the same data).
  const b = c.b!.shape;
  const unbatched = b.length >= 2 && b[b.length - 2] === w.k && b[b.length - 1] === w.n && b.slice(0, -2).every((d) => d === 1);
  if (a === null || c.transposeA || c.transposeB || !unbatched || a.dims[2] !== w.k || !(c.activation in ACTIVATION_CODES)) return null;
  let bias: Float32Array | null = null;
  if (c.bias !== undefined) {
    const values = floatValues(c.bias, backend);
    if (values === null || values.length !== w.n || c.bias.shape.slice(0, -1).some((d) => d !== 1)) return null;
    bias = values;
  }
  const code = ACTIVATION_CODES[c.activation as keyof typeof ACTIVATION_CODES];
  const scales = INT8_SCALE_CODES[w.int8Scales];
  return result(backend, [...a.outer, a.dims[1], w.n], (out) => addon.matmulReduced(w.id, a.values, a.dims, bias, code, c.alpha, scales, out));
}

/** The product through the addon, or null where the case is left to the cpu kernel. */
function nativeMatMul(addon: NativeAddon, backend: NativeBackend, c: MatMulCall): tf.TensorInfo | null {
  const reduced = c.b && backend.reducedWeight(c.b.dataId);
  if (reduced) {
    const product = reducedMatMul(addon, backend, reduced, c);
    if (product !== null) return product;
    // Any other case with that weight: its unpacked values (floatValues) through the float32 product below.
  }
  const a = operand(c.a, backend);
  const b = operand(c.b, backend);
  if (a === null || b === null || !(c.activation in ACTIVATION_CODES)) return null;
  const outer = outerShape(a, b);
  const m = c.transposeA ? a.dims[2] : a.dims[1];
  const n = c.transposeB ? b.dims[1] : b.dims[2];
  if (outer === null || (c.transposeA ? a.dims[1] : a.dims[2]) !== (c.transposeB ? b.dims[2] : b.dims[1])) return null;
  let bias: { values: Float32Array; dims: Dims3 } | null = null;
  if (c.bias !== undefined) {
    const values = floatValues(c.bias, backend);
    const dims = biasDims(c.bias.shape, outer, m, n);
    if (values === null || dims === null) return null;
    bias = { values, dims };
  }
  const code = ACTIVATION_CODES[c.activation as keyof typeof ACTIVATION_CODES];
  // Two activations at the precision asked; a product with a weight at its weight's.
  const lowered = c.bf16 === true && reduced === undefined && !(c.a !== undefined && backend.reducedWeight(c.a.dataId));
  return result(backend, [...outer, m, n], (out) =>
    lowered
      ? addon.matmulBf16(a.values, a.dims, b.values, b.dims, c.transposeA, c.transposeB, bias?.values ?? null, bias?.dims ?? null, code, c.alpha, out)
      : addon.matmul(a.values, a.dims, b.values, b.dims, c.transposeA, c.transposeB, bias?.values ?? null, bias?.dims ?? null, code, c.alpha, out),
  );
}

export function batchMatMulKernel(addon: NativeAddon, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; [ACTIVATION_PRECISION_ATTR]?: string };
    const bf16 = attrs[ACTIVATION_PRECISION_ATTR] === "bf16";
    return nativeMatMul(addon, args.backend, { a, b, transposeA: attrs.transposeA, transposeB: attrs.transposeB, activation: "linear", alpha: 0, bf16 }) ?? cpu(args);
  };
}

export function fusedMatMulKernel(addon: NativeAddon, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
    if (preluActivationWeights !== undefined) return cpu(args);
    const call = {
      a,
      b,
      bias,
      transposeA: attrs.transposeA,
      transposeB: attrs.transposeB,
      activation: attrs.activation ?? "linear",
      // tfjs' leakyRelu default slope.
      alpha: attrs.leakyreluAlpha ?? 0.2,
    };
    return nativeMatMul(addon, args.backend, call) ?? cpu(args);
  };
}
