// The engine in Node: `Specter2.load(dir)` reads a model directory on disk, `Specter2.load("allenai/specter2")` a model
// by its Hub name (converted once into a cache: src/hub/hubModel.ts), and runs the forward passes on this thread
// (`workers: 0`) or on worker threads, with the defaults of src/engine/defaults.ts for this machine.
//   const m = await Specter2.load("allenai/specter2");
//   const v = await m.embed(papers, { adapter: "proximity" });
//   await m.close();
import { availableParallelism } from "node:os";
import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { BackendChoice, BackendInfo } from "../engine/options";
import type { Precision, PrecisionOverrides } from "../model/config";
import { defaultThreads, defaultWorkers, hint, probeAutoBackend, usableCores } from "../backend/candidates";
import { activeCapabilities } from "../backend/capabilities";
import { initBackendWithThreads } from "../backend/select";
import { Specter2Core } from "../engine/core";
import { adaptersToLoad, LocalModel } from "../engine/localModel";
import { checkOptions, OPTIONS } from "../engine/options";
import { nativeAddonBuilt } from "../backend/native/addon";
import { nativePrecisionInfo, precisionUnavailable, precisionWarning } from "../backend/native/precision";
import { Specter2Error } from "../errors";
import { startRunner } from "../pool/poolRunner";
import { loadTokenizer, openModelDirectory } from "./modelDirectory";
import type { HubLoadOptions } from "../hub/hubModel";
import { modelDirectory } from "../hub/hubModel";
import type { OpenedModel } from "../weights/modelDir";

export type { EmbedOptions } from "../engine/core";

export interface LoadOptions extends HubLoadOptions {
  /** tfjs backend (default "auto": the first that initialises of node-gpu, native where built, node, wasm, cpu). */
  backend?: BackendChoice;
  /** Worker threads computing forward passes; 0: on the calling thread. Default: 1 for native, node and
   *  node-gpu (their kernels use every core), one per core for wasm and cpu. */
  workers?: number;
  /** The native backend's threads per worker; default: the cores split so that workers × threads ≤ cores. */
  threads?: number;
  /** Adapters to load next to the base: names from the model directory, or "all" (default). For a Hub name, the
   *  adapters to fetch and convert (SPECTER2's: proximity, adhoc_query, classification, regression). */
  adapters?: string[] | "all";
  /** The matrix products' precision: "fp32" (default, the parity guarantee), or "bf16" / "int8" on the native backend
   *  (faster where the CPU has the instructions, at a measured fidelity: docs/backends.md "Precision"). */
  precision?: Precision;
  /** Check every file against the manifest's sha256 before loading (reads the whole directory once more). */
  verify?: boolean;
  /** Receives the engine's warnings (e.g. that auto fell back to wasm); default: process.emitWarning. */
  onWarning?: (message: string) => void;
  /** @internal How often a batch is retried after its worker died (default 2). */
  maxRetries?: number;
  /** @internal The worker script; replaced only by tests. */
  workerScript?: string;
}

export class Specter2 extends Specter2Core {
  private precisionRun: Precision = "fp32";

  /** `model`: a model directory, or a Hub name `owner/name[@revision]` (a path that exists is always a directory):
   *  SPECTER2's base or adapter repos load that variant's base with its adapters, the named one the default; any
   *  other repo a BERT base alone, or an AdapterHub adapter with the base its adapter_config.json names. */
  static async load(model: string, options: LoadOptions = {}): Promise<Specter2> {
    checkOptions(options, ["backend", "workers", "threads", "adapters", "precision", "verify", "dtype"]);
    const backend = options.backend ?? OPTIONS.backend.default;
    const precision = options.precision ?? OPTIONS.precision.default;
    if (precision !== "fp32" && backend !== "native" && backend !== "auto") {
      throw new Specter2Error("BAD_INPUT", `precision ${precision} runs on the native backend only; the ${backend} backend runs fp32: use backend "native", or precision "fp32"`, {
        field: "precision",
      });
    }
    const cores = usableCores(availableParallelism(), process.env);
    const workers = options.workers ?? defaultWorkers(backend === "auto" ? probeAutoBackend().choice : backend, cores);
    // Where the addon is there, a precision oneDNN cannot run on this CPU is refused before anything loads.
    const precisionInfo = precision !== "fp32" && nativeAddonBuilt() ? nativePrecisionInfo() : null;
    const unavailable = precisionInfo && precisionUnavailable(precision, precisionInfo);
    if (unavailable) throw new Specter2Error("BACKEND_UNAVAILABLE", unavailable, { field: "precision" });
    const threads = options.threads ?? defaultThreads(workers, cores);
    const { dir, hub } = await modelDirectory(model, options);
    // A Hub name's conversion holds the adapters asked for and no others.
    const adapters = hub ? "all" : (options.adapters ?? OPTIONS.adapters.default);
    // Read and checked once here, so a bad directory fails before any worker starts.
    const opened = openModelDirectory(dir, { verify: options.verify });
    adaptersToLoad(opened.manifest, adapters);
    const tokenizer = loadTokenizer(dir);
    const script = options.workerScript ?? siblingScript(__filename, join(__dirname, "..", "pool"), "worker");
    const config: WorkerConfig = { dir, backend, adapters, threads, precision };
    const runner = await startRunner(workers, opened.config.hidden_size, () => loadLocalModel(config, opened), {
      spawn: () => spawnWorker(script, config),
      maxRetries: options.maxRetries,
    });
    const warning = backend === "auto" ? noNativeWarning(runner.backend) : null;
    if (warning) (options.onWarning ?? ((m) => process.emitWarning(m, { code: "SPECTER2_NO_NATIVE" })))(warning);
    // Never silent: a reduced precision without instructions for it here is slower than fp32.
    const slow = precisionInfo !== null && runner.backend.choice === "native" ? precisionWarning(precision, precisionInfo) : null;
    if (slow) (options.onWarning ?? ((m) => process.emitWarning(m, { code: "SPECTER2_PRECISION_EMULATED" })))(slow);
    const engine = new Specter2(dir, opened.manifest, opened.config, tokenizer, runner, workers);
    engine.precisionRun = precision;
    return engine;
  }

  /** The precision the matrix products run at (fp32 unless loaded with `precision`). */
  get precision(): Precision {
    return this.precisionRun;
  }

  /** The model directory, as the caller gave it; for a Hub name, its conversion. */
  get dir(): string {
    return this.location;
  }
}

/** The model of `config.dir` on this thread: its backend initialised, the weights loaded on it (what `workers: 0` runs,
 *  and each pool worker). `overrides` change which products run reduced at the precision (measurements use them);
 *  `opened`: the directory, where already opened. @internal (the package's declarations reach no tfjs type) */
export async function loadLocalModel(config: WorkerConfig & { overrides?: PrecisionOverrides }, opened?: OpenedModel): Promise<LocalModel> {
  const backend = await initBackendWithThreads(config.backend, config.threads);
  return LocalModel.load(opened ?? openModelDirectory(config.dir), backend, activeCapabilities(), {
    adapters: config.adapters,
    precision: config.precision,
    overrides: config.overrides,
  });
}

/** workerData of every pool worker (src/pool/worker.ts). */
export interface WorkerConfig {
  dir: string;
  backend: BackendChoice;
  adapters: string[] | "all";
  /** The native backend's thread count in this worker (undefined: oneDNN's default). */
  threads?: number;
  /** The matrix products' precision (undefined: fp32). */
  precision?: Precision;
}

/** A worker thread from compiled JavaScript or, under ts-node or jest, from TypeScript sources: worker threads do not
 *  inherit ts-node's loader, so a .ts script gets it registered first. @internal */
export function spawnWorker(script: string, workerData?: unknown): Worker {
  if (extname(script) !== ".ts") return new Worker(script, { workerData });
  const source = `require("ts-node").register({ transpileOnly: true, swc: true }); require(${JSON.stringify(script)});`;
  return new Worker(source, { eval: true, workerData });
}

/** The sibling script `name` of a module, in the module's own language (.ts or .js). @internal */
export function siblingScript(moduleFile: string, dir: string, name: string): string {
  return join(dir, `${name}${extname(moduleFile)}`);
}

/** The one warning a process gets when `auto` could not take the fast path: the native addon is not built here. */
let warnedNoNative = false;

/** Once per process: why auto runs a slow backend and the command that gets the native one; else null. */
export function noNativeWarning(backend: BackendInfo): string | null {
  if (warnedNoNative || (backend.choice !== "wasm" && backend.choice !== "cpu") || nativeAddonBuilt()) return null;
  warnedNoNative = true;
  return `the native backend is not built, so auto runs ${backend.choice}, several times slower (docs/backends.md); to build it: ${hint("native").trim().slice(1, -1)}`;
}
