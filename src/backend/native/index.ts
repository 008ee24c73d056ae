// The `native` tfjs backend: tfjs-backend-cpu's data and kernels, with the heavy kernels run by oneDNN
// through the addon in native/ (the matrix products are almost all of a forward pass's time).
import * as tf from "@tensorflow/tfjs-core";
import { loadAddon, BINARY_CODES, REDUCE_CODES, UNARY_CODES } from "./addon";
import { binaryKernel, gatherKernel, reduceKernel, softmaxKernel, transposeKernel, unaryKernel } from "./tensorKernels";
import type { KernelFunc } from "./kernels";
import { batchMatMulKernel, fusedMatMulKernel } from "./kernels";
import type { NativeAddon } from "./addon";
import { NativeBackend } from "./nativeBackend";

export const NATIVE_BACKEND = "native";

/** Registers the backend (once); throws MODULE_NOT_FOUND when the addon was not built. */
export function registerNativeBackend(): void {
  const addon = loadAddon();
  if (tf.findBackendFactory(NATIVE_BACKEND) !== null) return;
  // Above the cpu backend (priority 1) so tfjs' own default order would pick it, as `auto` does.
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(addon), 3);
  const replaced = nativeKernels();
  for (const config of tf.getKernelsForBackend("cpu")) {
    const make = replaced.get(config.kernelName);
    const kernelFunc = make ? make(addon, config.kernelFunc as KernelFunc) : config.kernelFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}

type MakeKernel = (addon: NativeAddon, cpu: KernelFunc) => KernelFunc;

/** The cpu kernels replaced, by tfjs kernel name: every kernel a profiled forward pass spends measurable time in
 *  (benchmarks/profile.ts). */
function nativeKernels(): Map<string, MakeKernel> {
  const kernels = new Map<string, MakeKernel>([
    [tf.BatchMatMul, batchMatMulKernel],
    [tf._FusedMatMul, fusedMatMulKernel],
    [tf.Softmax, softmaxKernel],
    [tf.Transpose, transposeKernel],
    [tf.GatherV2, gatherKernel],
  ]);
  for (const name of Object.keys(BINARY_CODES) as (keyof typeof BINARY_CODES)[]) kernels.set(name, binaryKernel(name));
  for (const name of Object.keys(UNARY_CODES) as (keyof typeof UNARY_CODES)[]) kernels.set(name, unaryKernel(name));
  for (const name of Object.keys(REDUCE_CODES) as (keyof typeof REDUCE_CODES)[]) kernels.set(name, reduceKernel(name));
  return kernels;
}

/** Threads oneDNN uses for the following calls (default: all cores, or OMP_NUM_THREADS). */
export function setNativeThreads(n: number): void {
  loadAddon().setThreads(n);
}
