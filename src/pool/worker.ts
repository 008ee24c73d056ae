// A pool worker: loads its own backend and copy of the model, then embeds one batch per message.
import { parentPort, workerData } from "node:worker_threads";
import type { LocalModel } from "../engine/localModel";
import { loadLocalModel } from "../node/specter2";
import type { EmbedJob, EmbedResult, WorkerReady } from "./poolRunner";
import type { WorkerConfig } from "../node/specter2";
import type { PoolJob, WorkerMessage } from "./workerPool";
import { serializeError } from "./workerPool";

const port = parentPort;
if (!port) throw new Error("src/pool/worker runs only as a worker thread");
const config = workerData as WorkerConfig;

function post(m: WorkerMessage<EmbedResult, WorkerReady>): void {
  if (m.type === "result") port!.postMessage(m, [m.result.buffer as ArrayBuffer]);
  else port!.postMessage(m);
}

async function embed(model: LocalModel, job: EmbedJob): Promise<EmbedResult> {
  const vectors = await model.embedIds(job.ids, job.adapter, job.pooling);
  const hidden = model.model.config.hidden_size;
  const flat = new Float32Array(vectors.length * hidden);
  vectors.forEach((v, r) => flat.set(v, r * hidden));
  return flat;
}

loadLocalModel(config).then(
  (model) => {
    port.on("message", ({ id, job }: PoolJob<EmbedJob>) => {
      embed(model, job).then(
        (result) => post({ type: "result", id, result }),
        (e: unknown) => post({ type: "jobError", id, error: serializeError(e) }),
      );
    });
    post({ type: "ready", info: { backend: model.backend, adapters: model.adapters.names() } });
  },
  (e: unknown) => post({ type: "loadError", error: serializeError(e) }),
);
