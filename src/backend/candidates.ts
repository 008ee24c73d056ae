// The backends `auto` chooses among, in its order, how each is described when absent, and which one auto would take
// here: no tfjs import, so the CLI's option definitions, `--help` and `specter2 info` read them without loading a
// backend (loading tfjs-node starts TensorFlow and registers kernels, too heavy and too stateful for `info`).
import { nativeAddonPath } from "./native/addon";

import type { BackendChoice } from "../engine/options";

export interface Candidate {
  choice: Exclude<BackendChoice, "auto">;
  /** The package whose loading registers the backend; require() throws when it is not installed. */
  pkg: string;
  tfName: string;
  /** Registers the backend where loading `pkg` alone does not (the native addon is a bare .node file). */
  register?: () => void;
}

/** In `auto`'s order of preference (probeAutoBackend reads it too). node-gpu first: present only when installed on
 *  purpose, and a GPU outruns any CPU path. Then native, several times wasm's throughput, and its oneDNN products
 *  faster than the Eigen kernels of the TensorFlow that tfjs-node wraps (benchmarks/RESULTS.md). Then node, wasm,
 *  cpu. */
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

/** Backends whose kernels use every core themselves: a second worker would only contend for them
 *  (and, on node-gpu, hold a second copy on the GPU). wasm and cpu kernels run on one thread each. */
const MULTITHREADED: readonly BackendChoice[] = ["native", "node", "node-gpu"];

/** The cores this process may use, of the `available` ones (Node's os.availableParallelism(), the affinity mask's;
 *  a page's navigator.hardwareConcurrency): a Slurm task's CPUs where SLURM_CPUS_PER_TASK says so (its cores are not
 *  always pinned). */
export function usableCores(available: number, env: Readonly<Record<string, string | undefined>> = {}): number {
  const slurmCpus = Number(env.SLURM_CPUS_PER_TASK);
  return Number.isInteger(slurmCpus) && slurmCpus > 0 ? Math.min(slurmCpus, available) : available;
}

/** One worker for a backend that uses every core itself, else one per usable core. `backend` is what auto resolves
 *  to before any worker loads one (null: nothing installed, so wasm or cpu at best). */
export function defaultWorkers(backend: Exclude<BackendChoice, "auto"> | null, cores: number): number {
  return backend !== null && MULTITHREADED.includes(backend) ? 1 : cores;
}

/** The native backend's threads per worker: undefined (oneDNN's own default: OMP_NUM_THREADS, else every core)
 *  for one worker or in-process, else the usable cores split between the workers, so workers × threads ≤ cores. */
export function defaultThreads(workers: number, cores: number): number | undefined {
  return workers <= 1 ? undefined : Math.max(1, Math.floor(cores / workers));
}
