// The backends `auto` chooses among, in its order, and how each is described when absent: no tfjs import, so the
// CLI's option definitions, `--help` and `specter2 info` read them without loading a backend.
import { nativeAddonPath } from "./native/addon";

import type { BackendChoice } from "./info";
export { BACKEND_CHOICES, type BackendChoice, type BackendInfo, type WebBackendChoice } from "./info";

export interface Candidate {
  choice: Exclude<BackendChoice, "auto">;
  /** The package whose loading registers the backend; require() throws when it is not installed. */
  pkg: string;
  tfName: string;
  /** Registers the backend where loading `pkg` alone does not (the native addon is a bare .node file). */
  register?: () => void;
}

/** In `auto`'s order of preference (also read by probe.ts, which tells without loading anything).
 *  node-gpu first: present only when installed on purpose, and a GPU outruns any CPU path. Then native:
 *  measured on a 2-core machine (benchmarks/RESULTS.md) at several times wasm's throughput, and its oneDNN
 *  matmul at 343 GFLOP/s against 213 for the Eigen kernels of TensorFlow, which tfjs-node wraps (a 2022
 *  TensorFlow 2.9, which could not be installed here to measure whole). Then node, wasm, cpu. */
export const CANDIDATES: readonly Candidate[] = [
  // Both tfjs-node packages register the backend as "tensorflow".
  { choice: "node-gpu", pkg: "@tensorflow/tfjs-node-gpu", tfName: "tensorflow" },
  // Its `pkg` is the built addon, which exists only where `npm install` found a compiler and oneDNN.
  {
    choice: "native",
    pkg: nativeAddonPath(),
    tfName: "native",
    register: () => (require("./native") as typeof import("./native")).registerNativeBackend(),
  },
  { choice: "node", pkg: "@tensorflow/tfjs-node", tfName: "tensorflow" },
  { choice: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", tfName: "wasm" },
  { choice: "cpu", pkg: "@tensorflow/tfjs-backend-cpu", tfName: "cpu" },
];

/** How an absent candidate is described: the native addon is built at install, the others installed. */
export function missing(choice: Candidate["choice"]): string {
  return choice === "native" ? "not built" : "not installed";
}

export function hint(choice: Candidate["choice"]): string {
  if (choice === "native") return " (apt-get install -y build-essential libdnnl-dev, or brew install onednn; then npm rebuild specter2-tfjs)";
  if (choice === "node") return " (npm install @tensorflow/tfjs-node)";
  if (choice === "node-gpu") return " (npm install @tensorflow/tfjs-node-gpu; needs CUDA)";
  return "";
}
