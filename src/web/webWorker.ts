// A Web Worker as the pool's worker (src/pool/workerPool.ts's PoolWorker): its messages as they are, an uncaught
// error or a failed start as "error" then "exit", the configuration sent as the first message (a Web Worker has
// no workerData).
import type { PoolWorker } from "../pool/workerPool";
import type { WebWorkerConfig } from "./worker";

export function spawnWebWorker(url: string, config: WebWorkerConfig): PoolWorker {
  const worker = new Worker(url, { type: "module" });
  const listeners: Record<"message" | "error" | "exit", ((value: unknown) => void)[]> = { message: [], error: [], exit: [] };
  const emit = (event: keyof typeof listeners, value: unknown) => listeners[event].forEach((l) => l(value));
  worker.addEventListener("message", (e: MessageEvent) => emit("message", e.data));
  worker.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    emit("error", new Error(e.message || `the worker ${url} failed to start (is it there, and served as JavaScript?)`));
    worker.terminate();
    emit("exit", 1);
  });
  worker.postMessage({ type: "init", config });
  return {
    on(event, listener) {
      listeners[event].push(listener);
    },
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
  };
}
