// The tfjs backends of a page, and `auto`'s choice among them: WebGPU where the browser hands out an adapter, then
// WebGL with 32-bit float textures (16-bit ones lose parity in BERT's LayerNorm and softmax), then wasm (SIMD;
// threaded where the page is cross-origin isolated), then cpu (docs/browser.md says why this order).
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgl";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { BackendInfo } from "../backend/info";
import { Specter2Error } from "../errors";

export const WEB_BACKENDS = ["auto", "webgpu", "webgl", "wasm", "cpu"] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

/** Refuses a backend name that is none of WEB_BACKENDS (BAD_INPUT on the backend field), before anything is fetched. */
export function checkWebBackend(choice: string): asserts choice is WebBackend {
  if (!(WEB_BACKENDS as readonly string[]).includes(choice)) {
    throw new Specter2Error("BAD_INPUT", `unknown backend "${choice}" (choose one of ${WEB_BACKENDS.join(", ")})`, { field: "backend" });
  }
}

/** Why a backend cannot run here, or null if it can; it is then active. */
async function tryBackend(choice: Exclude<WebBackend, "auto">, wasmPaths: string): Promise<string | null> {
  if (choice === "webgpu") {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) return "this browser has no WebGPU (navigator.gpu)";
    if (!(await gpu.requestAdapter())) return "the browser hands out no WebGPU adapter";
  }
  const ok = await tf.setBackend(choice).catch(() => false);
  if (!ok) {
    // A bundled page that did not copy the binaries fails here: say where they were looked for.
    if (choice === "wasm") return `tfjs could not initialise wasm (are its .wasm files at ${wasmPaths}? copy them there from dist/web, or set wasmPaths)`;
    return `tfjs could not initialise ${choice}`;
  }
  await tf.ready();
  if (choice === "webgl" && !tf.env().getBool("WEBGL_RENDER_FLOAT32_CAPABLE")) {
    return "WebGL here renders only 16-bit float textures, too coarse for BERT's LayerNorm and softmax (parity)";
  }
  return null;
}

/** Activates the chosen backend; `auto` takes the first of webgpu, webgl, wasm, cpu that can run. `wasmPaths`:
 *  where the tfjs wasm binaries are (a URL ending in "/"). */
export async function initWebBackend(choice: WebBackend, wasmPaths: string): Promise<BackendInfo> {
  checkWebBackend(choice);
  tf.env().set("PROD", true);
  setWasmPaths(wasmPaths);
  const candidates = choice === "auto" ? (["webgpu", "webgl", "wasm", "cpu"] as const) : [choice];
  const passed: string[] = [];
  for (const c of candidates) {
    const why = await tryBackend(c, wasmPaths);
    if (why === null) {
      const reason = choice === "auto" ? `auto: ${[...passed, `${c} initialised`].join("; ")}` : "requested";
      return { name: c === "wasm" ? wasmName() : tf.getBackend(), choice: c, reason };
    }
    if (choice !== "auto") throw new Specter2Error("BACKEND_UNAVAILABLE", `backend "${choice}" is not available: ${why}`, { field: "backend" });
    passed.push(`${c}: ${why}`);
  }
  throw new Specter2Error("BACKEND_UNAVAILABLE", `no tfjs backend initialised (${passed.join("; ")})`);
}

/** wasm says whether it runs threads: only a cross-origin-isolated page may share memory with them. */
function wasmName(): string {
  if (!tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")) return "wasm (single-threaded: the page is not cross-origin isolated)";
  return "wasm (multi-threaded)";
}
