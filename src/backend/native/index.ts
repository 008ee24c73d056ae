// The `native` tfjs backend: tfjs-backend-cpu's data and kernels, with the heavy kernels run by oneDNN
// through the addon in native/ (DESIGN.md §5: the matmuls are almost all of a forward pass).
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { loadAddon } from "./addon";
import { batchMatMulKernel, fusedMatMulKernel } from "./kernels";

export const NATIVE_BACKEND = "native";

/** Registers the backend (once); throws MODULE_NOT_FOUND when the addon was not built. */
export function registerNativeBackend(): void {
  const addon = loadAddon();
  if (tf.findBackendFactory(NATIVE_BACKEND) !== null) return;
  // Above the cpu backend (priority 1) so tfjs' own default order would pick it, as `auto` does.
  tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), 3);
  const replaced = {
    [tf.BatchMatMul]: batchMatMulKernel,
    [tf._FusedMatMul]: fusedMatMulKernel,
  } as const;
  for (const config of tf.getKernelsForBackend("cpu")) {
    const make = replaced[config.kernelName as keyof typeof replaced];
    const kernelFunc = make ? make(addon, config.kernelFunc as Parameters<typeof make>[1]) : config.kernelFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}

/** Threads oneDNN uses for the following calls (default: all cores, or OMP_NUM_THREADS). */
export function setNativeThreads(n: number): void {
  loadAddon().setThreads(n);
}

/** What `specter2 info` can show: the oneDNN version and its thread count. */
export function nativeInfo(): { onednn: string; threads: number } {
  const addon = loadAddon();
  return { onednn: addon.onednnVersion(), threads: addon.threads() };
}
