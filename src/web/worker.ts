// A Web Worker of `Specter2.load(url, { worker: true })` or `{ workers: N }`: loads its own backend and copy of the
// model from the URL, then embeds one batch per message, as src/pool/worker.ts does in Node (the same messages, plus
// "progress" while it fetches, which src/web/webWorker.ts hands to the caller's onProgress).
import "./registerBackends";
import { activeCapabilities } from "../backend/capabilities";
import { LocalModel } from "../engine/localModel";
import type { EmbedJob, EmbedResult, WorkerReady } from "../pool/poolRunner";
import type { PoolJob, WorkerMessage } from "../pool/workerPool";
import { serializeError } from "../pool/workerPool";
import { openModel, readManifest } from "../weights/openModel";
import type { WebBackend } from "./backends";
import { initWebBackend } from "./backends";
import type { Progress } from "../weights/modelDir";
import { fetchModelSource, memoryModelSource } from "./fetchSource";

export interface WebWorkerConfig {
  url: string;
  backend: WebBackend;
  adapters: string[] | "all";
  wasmPaths: string;
  /** wasm's threads in this worker (undefined: tfjs' own choice; a pool of several workers sends 1). */
  threads?: number;
  cache?: boolean;
  verify?: boolean;
  /** The files the load reads (the page's list, for the progress total); progress is posted only when given. */
  paths?: string[];
  /** A Hub model's files, converted by the page: read from here instead of `url`. */
  files?: Record<string, Uint8Array>;
}

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
}
const scope = self as unknown as WorkerScope;

function post(m: WorkerMessage<EmbedResult, WorkerReady>): void {
  if (m.type === "result") scope.postMessage(m, [m.result.buffer as ArrayBuffer]);
  else scope.postMessage(m);
}

async function start(config: WebWorkerConfig): Promise<void> {
  let model: LocalModel;
  try {
    const onProgress = config.paths ? (progress: Progress) => scope.postMessage({ type: "progress", progress }) : undefined;
    const source = config.files
      ? memoryModelSource(config.url, new Map(Object.entries(config.files)))
      : fetchModelSource(config.url, { cache: config.cache, verify: config.verify, onProgress });
    const manifest = await readManifest(source);
    source.expect(manifest, config.paths ?? []);
    const opened = await openModel(source, { manifest });
    model = await LocalModel.load(opened, await initWebBackend(config.backend, config.wasmPaths, config.threads), activeCapabilities(), { adapters: config.adapters });
  } catch (e) {
    post({ type: "loadError", error: serializeError(e) });
    return;
  }
  scope.addEventListener("message", (e: MessageEvent) => {
    const { id, job } = e.data as PoolJob<EmbedJob>;
    model.embedIds(job.ids, job.adapter, job.pooling).then(
      (vectors) => {
        const hidden = model.model.config.hidden_size;
        const flat = new Float32Array(vectors.length * hidden);
        vectors.forEach((v, r) => flat.set(v, r * hidden));
        post({ type: "result", id, result: flat });
      },
      (err: unknown) => post({ type: "jobError", id, error: serializeError(err) }),
    );
  });
  post({ type: "ready", info: { backend: model.backend, adapters: model.adapters.names() } });
}

scope.addEventListener("message", function init(e: MessageEvent) {
  const m = e.data as { type?: string; config?: WebWorkerConfig };
  if (m.type === "init" && m.config) void start(m.config);
});
