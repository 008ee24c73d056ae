// The engine in a page (or a Web Worker, or Electron's renderer): `Specter2.load(url)` fetches a model directory
// served over HTTP and embeds with the same front half, adapters and numbers as in Node (src/engine/core.ts).
//   const m = await Specter2.load(modelUrl, { backend: "auto", onProgress });
//   const v = await m.embed(papers, { adapter: "proximity" });
//   await m.close();
import { Specter2Core } from "../engine/core";
import { LocalModel } from "../engine/localModel";
import type { ForwardRunner } from "../engine/runner";
import { InProcessRunner } from "../engine/inProcessRunner";
import { unknownAdapter } from "../model/adapterSet";
import { PoolRunner } from "../pool/poolRunner";
import { loadModelTokenizer, openModel, readManifest } from "../weights/openModel";
import type { WebBackend } from "./backends";
import { checkWebBackend, initWebBackend } from "./backends";
import type { FetchOptions } from "./fetchSource";
import { fetchModelSource } from "./fetchSource";
import { spawnWebWorker } from "./webWorker";

export type { EmbedOptions } from "../engine/core";

export interface WebLoadOptions extends FetchOptions {
  /** "auto" (default: webgpu, then webgl with float32 textures, then wasm, then cpu), or one of them. */
  backend?: WebBackend;
  /** Adapters to load next to the base: names from the model directory, or "all" (default). */
  adapters?: string[] | "all";
  /** Compute in a Web Worker, so the page stays responsive during forward passes (seconds on wasm): the same numbers. */
  worker?: boolean;
  /** Where the tfjs wasm binaries are (a URL ending in "/"); default: beside this module. */
  wasmPaths?: string;
  /** Where the worker module is; default: specter2.worker.js beside this module. */
  workerUrl?: string;
}

/** This module's folder: the wasm binaries and the worker module are built beside it (npm run build:web). */
function besideThisModule(file: string): string {
  return new URL(file, import.meta.url).href;
}

export class Specter2 extends Specter2Core {
  static async load(url: string, options: WebLoadOptions = {}): Promise<Specter2> {
    const adapters = options.adapters ?? "all";
    const backend = options.backend ?? "auto";
    checkWebBackend(backend);
    // In worker mode the worker fetches the weights, and reports the progress: the page's own few reads would make
    // a second, never-completing count.
    const source = fetchModelSource(url, options.worker ? { ...options, onProgress: undefined } : options);
    const manifest = await readManifest(source);
    const known = Object.keys(manifest.adapters);
    for (const name of adapters === "all" ? [] : adapters) if (!known.includes(name)) throw unknownAdapter(name, known);
    const loaded = adapters === "all" ? known : adapters;
    // Every file this load reads, for the progress total: config, tokenizer, base, and the loaded adapters' files.
    const adapterFiles = new Set(Object.values(manifest.adapters).flatMap((a) => [a.config, a.weights]));
    const wanted = new Set(loaded.flatMap((a) => [manifest.adapters[a].config, manifest.adapters[a].weights]));
    const paths = Object.keys(manifest.files).filter((path) => !adapterFiles.has(path) || wanted.has(path));
    source.expect(manifest, paths);
    const opened = await openModel(source, { manifest });
    const wasmPaths = options.wasmPaths ?? besideThisModule("./");
    const runner: ForwardRunner = options.worker
      ? await PoolRunner.start(opened.config.hidden_size, {
          workers: 1,
          spawn: () =>
            spawnWebWorker(
              options.workerUrl ?? besideThisModule("./specter2.worker.js"),
              { url: source.name(""), backend, adapters, wasmPaths, cache: options.cache, verify: options.verify, paths },
              options.onProgress,
            ),
        })
      : new InProcessRunner(await LocalModel.load(opened, await initWebBackend(backend, wasmPaths), { adapters }));
    try {
      const tokenizer = runner instanceof InProcessRunner ? runner.local.tokenizer : await loadModelTokenizer(opened);
      return new Specter2(url, manifest, opened.config, tokenizer, runner, options.worker ? 1 : 0);
    } catch (e) {
      await runner.close();
      throw e;
    }
  }
}
