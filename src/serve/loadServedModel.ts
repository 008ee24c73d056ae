// `serve`'s model: in worker threads by default, so that forward passes leave the event loop free.
import { availableParallelism } from "node:os";
import { BackendProbe, probeAutoBackend } from "../backend/probe";
import type { BackendChoice } from "../backend/select";
import { Specter2Pool } from "../pool/specter2Pool";
import { Specter2 } from "../specter2";
import { InProcessModel } from "./inProcessModel";
import { PooledModel } from "./pooledModel";
import type { ServedModel } from "./servedModel";

export interface ServedModelOptions {
  backend: BackendChoice;
  /** Worker threads; 0: the main thread; default: defaultWorkers(backend). */
  workers?: number;
  /** The native backend's threads (per worker). */
  threads?: number;
}

/** Backends whose kernels use every core themselves: a second worker would only contend for them
 *  (and, on node-gpu, hold a second copy on the GPU). wasm and cpu kernels run on one thread each. */
const MULTITHREADED: readonly BackendChoice[] = ["native", "node", "node-gpu"];

/** One worker for a backend that uses every core itself, else one per core. `auto` is resolved as
 *  probeAutoBackend tells, before any worker loads a backend. */
export function defaultWorkers(backend: BackendChoice, probe: () => BackendProbe = probeAutoBackend): number {
  const choice = backend === "auto" ? probe().choice : backend;
  return choice !== null && MULTITHREADED.includes(choice) ? 1 : availableParallelism();
}

export async function loadServedModel(dir: string, options: ServedModelOptions): Promise<ServedModel> {
  const { backend, threads } = options;
  const workers = options.workers ?? defaultWorkers(backend);
  if (workers === 0) return new InProcessModel(await Specter2.load(dir, { backend, threads }));
  return new PooledModel(await Specter2Pool.load(dir, { workers, backend, threads }));
}
