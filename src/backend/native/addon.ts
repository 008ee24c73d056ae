// Finding and loading the oneDNN addon that `npm install` builds (native/, see README "Native backend").
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** Activation codes, in the order of native/src/matmul.h's `Activation`. */
export const ACTIVATION_CODES = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5, gelu: 6 } as const;
export type NativeActivation = keyof typeof ACTIVATION_CODES;

/** [batch, rows, cols] as stored in memory. */
export type Dims3 = [number, number, number];

export interface NativeAddon {
  /** act(a·b + bias) as [max(batchA, batchB), m, n]; a broadcast bias has 1 for the dims it repeats over. */
  matmul(
    a: Float32Array, aDims: Dims3, b: Float32Array, bDims: Dims3, transposeA: boolean, transposeB: boolean,
    bias: Float32Array | null, biasDims: Dims3 | null, activation: number, alpha: number,
  ): Float32Array;
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

let addon: NativeAddon | null = null;

/** Loads the addon once; throws MODULE_NOT_FOUND (as require does) when it was not built. */
export function loadAddon(): NativeAddon {
  addon ??= require(nativeAddonPath()) as NativeAddon;
  return addon;
}
