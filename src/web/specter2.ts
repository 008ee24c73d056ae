// The engine in a page (or a Web Worker, or Electron's renderer): `Specter2.load(url)` fetches a model directory
// served over HTTP, `Specter2.load("allenai/specter2")` a model by its Hub name (converted in the page and kept in the
// Cache API: src/web/hubModel.ts), and embeds with the same front half, adapters and numbers as in Node
// (src/engine/core.ts).
//   const m = await Specter2.load("allenai/specter2", { backend: "auto", onProgress });   // or { backend: "wasm", workers: "auto" }
//   const v = await m.embed(papers, { adapter: "proximity" });
//   await m.close();
import { activeCapabilities } from "../backend/capabilities";
import { Specter2Core } from "../engine/core";
import { adaptersToLoad, InProcessRunner, LocalModel } from "../engine/localModel";
import { Specter2Error } from "../errors";
import { startRunner } from "../pool/poolRunner";
import type { PoolWorker } from "../pool/workerPool";
import { loadModelTokenizer, openModel, readManifest } from "../weights/openModel";
import type { WebBackend } from "./backends";
import { checkThreads, checkWebBackend, initWebBackend } from "./backends";
import type { FetchOptions, FetchSource } from "./fetchSource";
import { fetchModelSource, memoryModelSource } from "./fetchSource";
import type { PageHubOptions } from "./hubModel";
import { hubModelFiles } from "./hubModel";
import { parseHubName } from "../weights/hub/repos";
import { spawnWebWorker } from "./webWorker";
import type { WebWorkerConfig } from "./worker";

export type { EmbedOptions } from "../engine/core";

export interface WebLoadOptions extends FetchOptions, PageHubOptions {
  /** "auto" (default: webgpu, then webgl with float32 textures, then wasm, then cpu), or one of them. */
  backend?: WebBackend;
  /** Adapters to load next to the base: names from the model directory, or "all" (default). For a Hub name, the
   *  adapters to fetch and convert (SPECTER2's: proximity, adhoc_query, classification, regression). */
  adapters?: string[] | "all";
  /** Compute in a Web Worker, so the page stays responsive during forward passes (seconds on wasm): the same numbers.
   *  The same as `workers: 1`. */
  worker?: boolean;
  /** Web Workers computing batches at once, each with its own backend and copy of the model (memory × N): 0 computes
   *  on the page's thread; "auto" is one per core (navigator.hardwareConcurrency, at most 4) on wasm and cpu, else 1.
   *  Default: 1 with `worker: true`, else 0. */
  workers?: number | "auto";
  /** wasm's threads, in the page or in each worker (default: tfjs' own, at most half of navigator.hardwareConcurrency;
   *  1 in each worker of a pool of several, which is how a pool uses the cores). 1 loads the single-threaded build;
   *  N > 1 runs N, past tfjs' cap of half the cores (src/web/backends.ts). */
  threads?: number;
  /** Where the tfjs wasm binaries are (a URL ending in "/"); default: beside this module. */
  wasmPaths?: string;
  /** Where the worker module is; default: specter2.worker.js beside this module. */
  workerUrl?: string;
}

/** `workers: "auto"`'s ceiling: each worker holds a whole copy of the model (~0.5 GB for full-size SPECTER2). */
export const MAX_AUTO_WORKERS = 4;

/** The Web Workers a load starts (0: none, the page computes). "auto": one per core on wasm and cpu, whose kernels
 *  run one thread each; one on a GPU backend, or "auto" (which prefers a GPU), where more would only share the GPU. */
export function resolveWebWorkers(options: Pick<WebLoadOptions, "worker" | "workers" | "backend">, cores: number): number {
  const { workers } = options;
  if (workers === undefined) return options.worker ? 1 : 0;
  if (workers === "auto") {
    const backend = options.backend ?? "auto";
    return backend === "wasm" || backend === "cpu" ? Math.max(1, Math.min(cores, MAX_AUTO_WORKERS)) : 1;
  }
  if (!Number.isInteger(workers) || workers < 0) throw new Specter2Error("BAD_INPUT", `workers must be a non-negative integer or "auto", got ${String(workers)}`, { field: "workers" });
  return workers;
}

/** This module's folder: the wasm binaries and the worker module are built beside it (npm run build:web). */
function besideThisModule(file: string): string {
  return new URL(file, import.meta.url).href;
}

export class Specter2 extends Specter2Core {
  /** `model`: the URL of a model directory (relative URLs resolve against the page), or a Hub name
   *  `owner/name[@revision]`: SPECTER2's base or adapter repos load that variant's base with its adapters, the named
   *  one the default; any other repo a BERT base alone, or an AdapterHub adapter with the base its adapter_config.json
   *  names. */
  static async load(model: string, options: WebLoadOptions = {}): Promise<Specter2> {
    const backend = options.backend ?? "auto";
    checkWebBackend(backend);
    checkThreads(options.threads);
    const workers = resolveWebWorkers(options, navigator.hardwareConcurrency || 1);
    // `owner/name[@revision]` is a Hub name (a URL never reads so); a directory at a relative URL that would is
    // written "./owner/name".
    const hubName = parseHubName(model);
    const hub = hubName === undefined ? undefined : await hubModelFiles(hubName, options);
    // A Hub name's conversion holds the adapters asked for and no others.
    const adapters = hub ? "all" : (options.adapters ?? "all");
    // With workers, the first one fetches the weights and reports the progress: the page's own few reads would make
    // a second, never-completing count.
    const source: FetchSource = hub ? memoryModelSource(hub.location, hub.files) : fetchModelSource(model, workers > 0 ? { ...options, onProgress: undefined } : options);
    const manifest = await readManifest(source);
    const loaded = adaptersToLoad(manifest, adapters);
    // Every file this load reads, for the progress total: config, tokenizer, base, and the loaded adapters' files.
    const adapterFiles = new Set(Object.values(manifest.adapters).flatMap((a) => [a.config, a.weights]));
    const wanted = new Set(loaded.flatMap((a) => [manifest.adapters[a].config, manifest.adapters[a].weights]));
    const paths = Object.keys(manifest.files).filter((path) => !adapterFiles.has(path) || wanted.has(path));
    source.expect(manifest, paths);
    const opened = await openModel(source, { manifest });
    const wasmPaths = options.wasmPaths ?? besideThisModule("./");
    // A Hub model's workers get its files (they are in this page's memory); a directory's fetch it (or read the cache).
    const files = hub ? Object.fromEntries(hub.files) : undefined;
    const runner = await startRunner(
      workers,
      opened.config.hidden_size,
      async () => LocalModel.load(opened, await initWebBackend(backend, wasmPaths, options.threads), activeCapabilities(), { adapters }),
      { spawn: webWorkerSpawner(source.name(""), options, { backend, adapters, wasmPaths, paths, files }, workers) },
    );
    try {
      const tokenizer = runner instanceof InProcessRunner ? runner.local.tokenizer : await loadModelTokenizer(opened);
      return new Specter2(hub ? hub.location : model, manifest, opened.config, tokenizer, runner, workers);
    } catch (e) {
      await runner.close();
      throw e;
    }
  }
}

/**
 * Starts the pool's Web Workers. The first fetches the model (reporting onProgress) and fills the Cache API; the
 * others start once it has loaded and read from the cache (without it, each downloads the files again). With several
 * workers each runs wasm on one thread, so that the workers, not tfjs' threads, share the cores.
 */
function webWorkerSpawner(url: string, options: WebLoadOptions, config: Pick<WebWorkerConfig, "backend" | "adapters" | "wasmPaths" | "paths" | "files">, workers: number): () => PoolWorker {
  const workerUrl = options.workerUrl ?? besideThisModule("./specter2.worker.js");
  const full: WebWorkerConfig = { url, ...config, threads: options.threads ?? (workers > 1 ? 1 : undefined), cache: options.cache, verify: options.verify };
  let firstLoaded: Promise<void> | null = null;
  return () => {
    if (firstLoaded) return spawnWebWorker(workerUrl, full, undefined, firstLoaded);
    const worker = spawnWebWorker(workerUrl, full, options.onProgress);
    firstLoaded = new Promise((resolve) => worker.on("message", (m: { type?: string }) => m?.type === "ready" && resolve()));
    return worker;
  };
}
