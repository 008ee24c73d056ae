// The backends `auto` chooses among, in its order, how each is described when absent, and which one auto would take
// here: no tfjs import, so the CLI's option definitions, `--help` and `specter2 info` read them without loading a
// backend (loading tfjs-node starts TensorFlow and registers kernels, too heavy and too stateful for `info`).
import { nativeAddonPath } from "./native/addon";

import type { BackendChoice } from "./info";

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

/** Which backend `auto` would take here. Installed packages are found with require.resolve; whether the first one
 *  then initialises is only known when a model loads, in which case initBackend falls through to the next, as the
 *  probe's reason says. */
export interface BackendProbe {
  /** The first installed candidate, or null if none is. */
  choice: Candidate["choice"] | null;
  reason: string;
  candidates: { choice: Candidate["choice"]; pkg: string; installed: boolean }[];
}

export function probeAutoBackend(resolve: (pkg: string) => string = require.resolve): BackendProbe {
  const candidates = CANDIDATES.map((c) => ({ choice: c.choice, pkg: c.pkg, installed: isInstalled(c.pkg, resolve) }));
  const first = candidates.findIndex((c) => c.installed);
  const passed = candidates.slice(0, first === -1 ? candidates.length : first).map((c) => `${c.choice} ${missing(c.choice)} (${c.pkg})`);
  if (first === -1) return { choice: null, reason: `no backend package is installed: ${passed.join("; ")}`, candidates };
  const picked = candidates[first];
  const fallback = candidates
    .slice(first + 1)
    .filter((c) => c.installed)
    .map((c) => c.choice);
  const reason = [
    ...passed,
    `${picked.choice} ${picked.choice === "native" ? "built" : "installed"} (${picked.pkg})`,
    `if it fails to initialise: ${fallback.length > 0 ? fallback.join(", then ") : "nothing else is installed"}`,
  ].join("; ");
  return { choice: picked.choice, reason, candidates };
}

function isInstalled(pkg: string, resolve: (pkg: string) => string): boolean {
  try {
    resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
