// Finding and loading the oneDNN addon that `npm install` builds (native/, see README "Native backend").
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** Activation codes, in the order of native/src/matmul.h's `Activation`. */
export const ACTIVATION_CODES = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5, gelu: 6 } as const;
export type NativeActivation = keyof typeof ACTIVATION_CODES;

/** Codes of native/src/elementwise.h's BinaryOp, by tfjs kernel name. */
export const BINARY_CODES = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4 } as const;
/** Codes of native/src/elementwise.h's UnaryOp, by tfjs kernel name. */
export const UNARY_CODES = { Erf: 0, Exp: 1, Rsqrt: 2, Sqrt: 3, Square: 4, Tanh: 5, Sigmoid: 6, Relu: 7, Neg: 8, Abs: 9 } as const;
/** Codes of native/src/rows.h's ReduceOp, by tfjs kernel name. */
export const REDUCE_CODES = { Sum: 0, Mean: 1, Max: 2 } as const;

/** [batch, rows, cols] as stored in memory. */
export type Dims3 = [number, number, number];

export interface NativeAddon {
  // Each kernel writes its result into `out`, which must have exactly the result's length.
  /** out = act(a·b + bias), [max(batchA, batchB), m, n]; a broadcast bias has 1 for the dims it repeats over. */
  matmul(
    a: Float32Array,
    aDims: Dims3,
    b: Float32Array,
    bDims: Dims3,
    transposeA: boolean,
    transposeB: boolean,
    bias: Float32Array | null,
    biasDims: Dims3 | null,
    activation: number,
    alpha: number,
    packB: boolean,
    out: Float32Array,
  ): void;
  /** Drops the packed copies of weight b made for matmuls with packB (before its memory is freed). */
  forgetPacked(b: Float32Array): void;
  /** Bytes held in packed copies of weights. */
  packedBytes(): number;
  /** out = op(a, b) with tfjs' broadcasting, row-major in the broadcast shape. */
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** Softmax of each row of x seen as [rows, cols]. */
  softmax(x: Float32Array, dims: [number, number], out: Float32Array): void;
  /** One value per row of x seen as [rows, cols]. */
  reduce(op: number, x: Float32Array, dims: [number, number], out: Float32Array): void;
  /** out: x with its axes permuted (axis i of out is x's axis perm[i]). */
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  setThreads(n: number): void;
  threads(): number;
  onednnVersion(): string;
}

/** The package root: the nearest directory above this file with native/binding.gyp (works from src/ and dist/src/). */
function packageRoot(): string | null {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "native", "binding.gyp"))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** Where node-gyp puts the addon; it exists only when the install script could build it. */
export function nativeAddonPath(): string {
  return join(packageRoot() ?? __dirname, "native", "build", "Release", "specter2_native.node");
}

/** Whether `npm install` could build the addon here. */
export function nativeAddonBuilt(): boolean {
  return existsSync(nativeAddonPath());
}

let addon: NativeAddon | null = null;

/** Loads the addon once; throws MODULE_NOT_FOUND (as require does) when it was not built. */
export function loadAddon(): NativeAddon {
  addon ??= require(nativeAddonPath()) as NativeAddon;
  return addon;
}

/** What `specter2 info` shows: the oneDNN version and thread count (loads the addon only, no tfjs backend). */
export function nativeInfo(): { onednn: string; threads: number } {
  const a = loadAddon();
  return { onednn: a.onednnVersion(), threads: a.threads() };
}
