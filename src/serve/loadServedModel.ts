// `serve`'s model: in worker threads by default, so that forward passes leave the event loop free.
import type { BackendChoice } from "../backend/select";
import { defaultWorkers } from "../pool/defaultWorkers";
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

export async function loadServedModel(dir: string, options: ServedModelOptions): Promise<ServedModel> {
  const { backend, threads } = options;
  const workers = options.workers ?? defaultWorkers(backend);
  if (workers === 0) return new InProcessModel(await Specter2.load(dir, { backend, threads }));
  return new PooledModel(await Specter2Pool.load(dir, { workers, backend, threads }));
}
