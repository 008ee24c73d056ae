// How many worker threads a pool gets by default, for `serve` and `embed`.
import { availableParallelism } from "node:os";
import { BackendProbe, probeAutoBackend } from "../backend/probe";
import type { BackendChoice } from "../backend/select";

/** Backends whose kernels use every core themselves: a second worker would only contend for them
 *  (and, on node-gpu, hold a second copy on the GPU). wasm and cpu kernels run on one thread each. */
const MULTITHREADED: readonly BackendChoice[] = ["native", "node", "node-gpu"];

/** One worker for a backend that uses every core itself, else one per core this process may use: a
 *  Slurm task's CPUs (SLURM_CPUS_PER_TASK, where its cores are not pinned), else the affinity mask's.
 *  `auto` is resolved as probeAutoBackend tells, before any worker loads a backend. */
export function defaultWorkers(backend: BackendChoice, probe: () => BackendProbe = probeAutoBackend, env: NodeJS.ProcessEnv = process.env): number {
  const choice = backend === "auto" ? probe().choice : backend;
  if (choice !== null && MULTITHREADED.includes(choice)) return 1;
  const slurmCpus = Number(env.SLURM_CPUS_PER_TASK);
  return Number.isInteger(slurmCpus) && slurmCpus > 0 ? Math.min(slurmCpus, availableParallelism()) : availableParallelism();
}
