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

/** Codes of native/src/reduced.h's Precision. */
export const PRECISION_CODES = { fp32: 0, bf16: 1, int8: 2 } as const;
/** Codes of native/src/reduced.h's Int8Scales: one (min, max) per product input, or per row. */
export const INT8_SCALE_CODES = { tensor: 0, row: 1 } as const;

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
    out: Float32Array,
  ): void;
  /** out = op(a, b) with tfjs' broadcasting, row-major in the broadcast shape. */
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** Softmax of each row of x seen as [rows, cols]. */
  softmax(x: Float32Array, dims: [number, number], out: Float32Array): void;
  /** One value per row of x seen as [rows, cols]. */
  reduce(op: number, x: Float32Array, dims: [number, number], out: Float32Array): void;
  /** out: x with its axes permuted (axis i of out is x's axis perm[i]). */
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  /** matmul with both operands rounded to bf16, accumulated and written in f32 (no packing: activation × activation). */
  matmulBf16: NativeAddon["matmul"];
  /** Packs a weight, row-major [k, n], in oneDNN's layout as fp32, bf16 or int8 (PRECISION_CODES; int8: s8 with a
   *  scale per column) and returns its id; `b` is not kept. */
  packReduced(b: Float32Array, dims: [number, number], precision: number): number;
  /** The values a packed weight multiplies by (fp32 as given, bf16 widened, or q · scale), row-major [k, n]. */
  unpackReduced(id: number, out: Float32Array): void;
  dropReduced(id: number): void;
  /** Bytes held in packed weights (every precision). */
  reducedBytes(): number;
  /** out [batch·m, n] = act(a · W + bias) with W a packed weight: a stored [batch, m, k] untransposed, bias n values. */
  matmulReduced(id: number, a: Float32Array, aDims: Dims3, bias: Float32Array | null, activation: number, alpha: number, int8Scales: number, out: Float32Array): void;
  /** oneDNN's effective ISA, whether int8 activations use 8 bits (VNNI/AMX) or 7, and the implementation a
   *  256×768·768×3072 product of each precision gets (e.g. "brg:avx512_core_bf16"; "unsupported: …"). */
  precisionInfo(): { isa: string; int8FullRange: boolean; f32: string; bf16: string; int8: string };
  /** Hands the process heap's free pages back to the system (glibc's malloc_trim; a no-op elsewhere). */
  trimMemory(): void;
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
