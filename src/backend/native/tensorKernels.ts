// The element-wise, softmax, reduction, transpose and gather kernels of the native backend: C++
// (native/src/elementwise.cc, rows.cc, transpose.cc) instead of tfjs-backend-cpu's JavaScript loops,
// which compute a broadcast index per element and so took most of a forward pass once the products ran in oneDNN.
// As in kernels.ts, a case not covered (another dtype, an empty tensor, axes not innermost) goes to
// the cpu kernel, so results and errors there are the cpu backend's.
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon";
import { BINARY_CODES, REDUCE_CODES, UNARY_CODES } from "./addon";
import type { KernelFunc } from "./kernels";
import { floatValues, result } from "./kernels";
import type { NativeBackend } from "./nativeBackend";

const MAX_RANK = 8;

interface FloatInput {
  shape: number[];
  values: Float32Array;
}

/** A non-empty float32 tensor of rank ≤ 8 with its values (no copy), or null. */
function floatInput(t: tf.TensorInfo | undefined, backend: NativeBackend): FloatInput | null {
  const values = floatValues(t, backend);
  return t !== undefined && values !== null && t.shape.length <= MAX_RANK ? { shape: t.shape, values } : null;
}

export function binaryKernel(name: keyof typeof BINARY_CODES) {
  return (addon: NativeAddon, cpu: KernelFunc): KernelFunc =>
    (args) => {
      const a = floatInput(args.inputs.a, args.backend);
      const b = floatInput(args.inputs.b, args.backend);
      if (a === null || b === null) return cpu(args);
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      return result(args.backend, shape, (out) => addon.binary(BINARY_CODES[name], a.values, a.shape, b.values, b.shape, out));
    };
}

export function unaryKernel(name: keyof typeof UNARY_CODES) {
  return (addon: NativeAddon, cpu: KernelFunc): KernelFunc =>
    (args) => {
      const x = floatInput(args.inputs.x, args.backend);
      return x === null ? cpu(args) : result(args.backend, x.shape, (out) => addon.unary(UNARY_CODES[name], x.values, out));
    };
}

/** [rows, cols] when `axes` (non-negative) are exactly the trailing axes of `shape`, else null. */
function trailingRows(shape: number[], axes: number[]): [number, number] | null {
  const first = shape.length - axes.length;
  if (axes.length === 0 || ![...axes].sort((x, y) => x - y).every((a, i) => a === first + i)) return null;
  const rows = shape.slice(0, first).reduce((p, d) => p * d, 1);
  const cols = shape.slice(first).reduce((p, d) => p * d, 1);
  return [rows, cols];
}

export function softmaxKernel(addon: NativeAddon, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const logits = floatInput(args.inputs.logits, args.backend);
    const dims = logits && trailingRows(logits.shape, tf.util.parseAxisParam((args.attrs as { dim: number }).dim, logits.shape));
    if (logits === null || dims === null) return cpu(args);
    return result(args.backend, logits.shape, (out) => addon.softmax(logits.values, dims, out));
  };
}

export function reduceKernel(name: keyof typeof REDUCE_CODES) {
  return (addon: NativeAddon, cpu: KernelFunc): KernelFunc =>
    (args) => {
      const attrs = args.attrs as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
      const x = floatInput(args.inputs.x, args.backend);
      if (x === null) return cpu(args);
      // A null axis (tf.sum(x)) means all axes, as in the cpu kernel: parseAxisParam expands it.
      const axes = tf.util.parseAxisParam((name === "Max" ? attrs.reductionIndices : attrs.axis) as number | number[], x.shape);
      const dims = trailingRows(x.shape, axes);
      if (dims === null) return cpu(args);
      const outer = x.shape.slice(0, x.shape.length - axes.length);
      const shape = attrs.keepDims ? [...outer, ...new Array<number>(axes.length).fill(1)] : outer;
      return result(args.backend, shape, (out) => addon.reduce(REDUCE_CODES[name], x.values, dims, out));
    };
}

export function transposeKernel(addon: NativeAddon, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const x = floatInput(args.inputs.x, args.backend);
    const { perm } = args.attrs as { perm: number[] };
    if (x === null) return cpu(args);
    return result(
      args.backend,
      perm.map((p) => x.shape[p]),
      (out) => addon.transpose(x.values, x.shape, perm, out),
    );
  };
}

/** Rows of a float32 matrix by int32 index (the embedding lookup): row copies into a recycled array. */
export function gatherKernel(_addon: NativeAddon, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const x = floatInput(args.inputs.x, args.backend);
    const indices = args.inputs.indices;
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    const ids = indices && args.backend.data.get(indices.dataId)?.values;
    if (x === null || indices === undefined || x.shape.length !== 2 || axis !== 0 || batchDims !== 0 || !(ids instanceof Int32Array)) return cpu(args);
    const [rows, width] = x.shape;
    // Out-of-range ids go to the cpu kernel, whose error names them.
    if (!ids.every((i) => i >= 0 && i < rows)) return cpu(args);
    return result(args.backend, [...indices.shape, width], (out) => ids.forEach((id, r) => out.set(x.values.subarray(id * width, (id + 1) * width), r * width)));
  };
}
