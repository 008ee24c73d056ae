// A Web Worker as the pool's worker (src/pool/workerPool.ts's PoolWorker): its messages as they are but "progress"
// (to the caller's onProgress), a script that fails before it is ready as a load error, a later uncaught error as
// "error" then "exit", the configuration sent as the first message (a Web Worker has no workerData), once `after`
// (if given) has settled: a pool's later workers wait for the first to have filled the cache.
import type { PoolWorker } from "../pool/workerPool";
import type { Progress } from "../weights/modelDir";
import type { WebWorkerConfig } from "./worker";

export function spawnWebWorker(url: string, config: WebWorkerConfig, onProgress?: (p: Progress) => void, after?: Promise<unknown>): PoolWorker {
  const worker = new Worker(url, { type: "module" });
  let terminated = false;
  const listeners: Record<"message" | "error" | "exit", ((value: unknown) => void)[]> = { message: [], error: [], exit: [] };
  const emit = (event: keyof typeof listeners, value: unknown) => listeners[event].forEach((l) => l(value));
  let ready = false;
  worker.addEventListener("message", (e: MessageEvent) => {
    const m = e.data as { type?: string; progress?: Progress } | null;
    // The fetch progress is the caller's, not the pool's.
    if (m?.type === "progress") return onProgress?.(m.progress!);
    if (m?.type === "ready") ready = true;
    emit("message", e.data);
  });
  worker.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    const message = e.message || `the worker ${url} failed to start (is it there, and served as JavaScript?)`;
    // Before "ready" the pool keeps only a load error's message (an "error" then "exit" would reach the caller as
    // "exited with code 1 while loading"): a script that is missing or fails to run is reported as one.
    if (!ready) emit("message", { type: "loadError", error: { message } });
    else emit("error", new Error(message));
    terminated = true;
    worker.terminate();
    emit("exit", 1);
  });
  const init = () => {
    if (!terminated) worker.postMessage({ type: "init", config: onProgress ? config : { ...config, paths: undefined } });
  };
  if (after) void after.then(init, init);
  else init();
  return {
    on(event, listener) {
      listeners[event].push(listener);
    },
    postMessage: (message) => worker.postMessage(message),
    terminate: () => {
      terminated = true;
      worker.terminate();
    },
  };
}
