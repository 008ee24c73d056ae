// The defaults the engine works out (for this machine, this model, this call's adapter), in one module: the library,
// the CLI, serve, search and parity all read them here, so that the same call gets the same workers, threads, adapter
// and lengths wherever it is made. The options' constant defaults (backend, batch size, …) are in ./options.ts.
import type { BackendChoice } from "../backend/info";
import { Specter2Error } from "../errors";
import { DEFAULT_MAX_LENGTH } from "../tokenizer";
import { checkOption } from "./options";

/** The names that mean the bare base model, no adapter: `--adapter none` on the CLI; the first, `base`, is how the
 *  server APIs name it. */
export const BASE_NAMES: readonly string[] = ["base", "none"];

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

/** Tokens per input, [CLS] and [SEP] included: 512 as every SPECTER2 reference usage passes (the tokenizer's
 *  file says ~1e30), or the model's position limit if lower; a longer request is refused. */
export function resolveMaxLength(requested: number | undefined, positions: number): number {
  if (requested === undefined) return Math.min(DEFAULT_MAX_LENGTH, positions);
  checkOption("maxLength", requested);
  if (requested > positions) {
    throw new Specter2Error("BAD_INPUT", `maxLength ${requested} exceeds the model's ${positions} positions (max_position_embeddings)`, { field: "maxLength" });
  }
  return requested;
}

/** The adapter used when a call names none: the model directory's `default_adapter` (download records
 *  proximity, convert its first --adapter) if it is loaded, else the first loaded adapter in the directory's
 *  order, else the bare base (null). */
export function defaultAdapterOf(recorded: string | null | undefined, loaded: readonly string[]): string | null {
  if (recorded === null) return null;
  if (recorded !== undefined && loaded.includes(recorded)) return recorded;
  return loaded[0] ?? null;
}

/**
 * Float32 forward passes in a different order of operations agree to a few ulps per op; over 12 layers of
 * unit-scale LayerNorm outputs that accumulates to an order of magnitude below this bound, while any changed
 * equation moves values by orders of magnitude more.
 */
export const DEFAULT_TOLERANCE = { maxAbs: 1e-4, minCosine: 0.99999 };
