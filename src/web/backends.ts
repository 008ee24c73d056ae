// The tfjs backends of a page, and `auto`'s choice among them: WebGPU where the browser hands out an adapter, then
// WebGL with 32-bit float textures (16-bit ones lose parity in BERT's LayerNorm and softmax), then wasm (SIMD;
// threaded where the page is cross-origin isolated), then cpu (docs/browser.md says why this order).
//
// tfjs-backend-wasm 4.22 runs at most half of navigator.hardwareConcurrency threads (its backend.cc takes every
// second logical core for a hyperthread), whatever setThreadsCount asks: on 2 cores its threaded build runs one.
// So `threads: N` presents N × 2 cores to tfjs while its wasm backend starts (and only then): N threads run.
// The cpu, webgl and webgpu backends register themselves when imported: registerBackends.ts does that for the bundles.
import * as tf from "@tensorflow/tfjs-core";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { BackendInfo } from "../engine/options";
import { Specter2Error } from "../errors";

export const WEB_BACKENDS = ["auto", "webgpu", "webgl", "wasm", "cpu"] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

/** Refuses a backend name that is none of WEB_BACKENDS (BAD_INPUT on the backend field), before anything is fetched. */
export function checkWebBackend(choice: string): asserts choice is WebBackend {
  if (!(WEB_BACKENDS as readonly string[]).includes(choice)) {
    throw new Specter2Error("BAD_INPUT", `unknown backend "${choice}" (choose one of ${WEB_BACKENDS.join(", ")})`, { field: "backend" });
  }
}

/** Refuses a wasm thread count that is not a positive integer (BAD_INPUT on the threads field). */
export function checkThreads(threads: number | undefined): void {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new Specter2Error("BAD_INPUT", `threads must be a positive integer, got ${threads}`, { field: "threads" });
  }
}

/** Before this page's (or worker's) wasm backend starts, and only then (tfjs keeps the first one): 1 thread loads the
 *  single-threaded SIMD build (no pthread workers at all), more ask tfjs' threaded build for that many and present
 *  the cores it needs for them until the returned function is called, once the backend has started. */
function configureWasmThreads(threads: number | undefined): () => void {
  // (tf.findBackend would start the backend it looks for.)
  if (threads === undefined || wasmStarting || "wasm" in tf.engine().registry) return () => {};
  if (threads === 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return () => {};
  }
  setThreadsCount(threads);
  return presentCores(2 * threads);
}
let wasmStarting = false;

/** navigator.hardwareConcurrency reads at least `cores` until the returned function undoes it (where it already
 *  does, nothing changes): an own property over the prototype's getter, deleted again. */
function presentCores(cores: number): () => void {
  if ((navigator.hardwareConcurrency || 1) >= cores) return () => {};
  Object.defineProperty(navigator, "hardwareConcurrency", { value: cores, configurable: true });
  return () => delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
}

/** Why a backend cannot run here, or null if it can; it is then active. */
async function tryBackend(choice: Exclude<WebBackend, "auto">, wasmPaths: string, threads: number | undefined): Promise<string | null> {
  if (choice === "webgpu") {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) return "this browser has no WebGPU (navigator.gpu)";
    if (!(await gpu.requestAdapter())) return "the browser hands out no WebGPU adapter";
  }
  let restoreCores = () => {};
  if (choice === "wasm") {
    restoreCores = configureWasmThreads(threads);
    wasmStarting = true;
  }
  try {
    const ok = await tf.setBackend(choice).catch(() => false);
    if (!ok) {
      // A bundled page that did not copy the binaries fails here: say where they were looked for.
      if (choice === "wasm") return `tfjs could not initialise wasm (are its .wasm files at ${wasmPaths}? copy them there from dist/web, or set wasmPaths)`;
      return `tfjs could not initialise ${choice}`;
    }
    await tf.ready();
  } finally {
    restoreCores();
  }
  if (choice === "webgl" && !tf.env().getBool("WEBGL_RENDER_FLOAT32_CAPABLE")) {
    return "WebGL here renders only 16-bit float textures, too coarse for BERT's LayerNorm and softmax (parity)";
  }
  return null;
}

/** Activates the chosen backend; `auto` takes the first of webgpu, webgl, wasm, cpu that can run. `wasmPaths`:
 *  where the tfjs wasm binaries are (a URL ending in "/"); `threads`: wasm's (undefined: tfjs' own choice). */
export async function initWebBackend(choice: WebBackend, wasmPaths: string, threads?: number): Promise<BackendInfo> {
  checkWebBackend(choice);
  checkThreads(threads);
  tf.env().set("PROD", true);
  setWasmPaths(wasmPaths);
  const candidates = choice === "auto" ? (["webgpu", "webgl", "wasm", "cpu"] as const) : [choice];
  const passed: string[] = [];
  for (const c of candidates) {
    const why = await tryBackend(c, wasmPaths, threads);
    if (why === null) {
      const reason = choice === "auto" ? `auto: ${[...passed, `${c} initialised`].join("; ")}` : "requested";
      return { name: c === "wasm" ? wasmName() : tf.getBackend(), choice: c, reason };
    }
    if (choice !== "auto") throw new Specter2Error("BACKEND_UNAVAILABLE", `backend "${choice}" is not available: ${why}`, { field: "backend" });
    passed.push(`${c}: ${why}`);
  }
  throw new Specter2Error("BACKEND_UNAVAILABLE", `no tfjs backend initialised (${passed.join("; ")})`);
}

/** wasm says how many threads it runs, and why not more: only a cross-origin-isolated page may share memory with
 *  threads, and tfjs' threaded build runs at most half of navigator.hardwareConcurrency. */
function wasmName(): string {
  if (!tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")) {
    return globalThis.crossOriginIsolated ? "wasm (single-threaded)" : "wasm (single-threaded: the page is not cross-origin isolated)";
  }
  const threads = getThreadsCount();
  if (threads > 1) return `wasm (multi-threaded: ${threads} threads)`;
  return `wasm (multi-threaded build on 1 thread: tfjs runs at most half of navigator.hardwareConcurrency, ${navigator.hardwareConcurrency})`;
}
