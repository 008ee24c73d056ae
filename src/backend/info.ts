// What the engine says of its backend, wherever it runs: no imports, so the browser entry and the CLI's option
// definitions read it without loading a backend.

export const BACKEND_CHOICES = ["auto", "native", "node-gpu", "node", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The backends a page has (src/web/backends.ts) besides wasm and cpu. */
export type WebBackendChoice = "webgpu" | "webgl";

export interface BackendInfo {
  /** The tfjs backend name now active ("tensorflow", "wasm", "cpu", "webgl"…). */
  name: string;
  choice: Exclude<BackendChoice, "auto"> | WebBackendChoice;
  /** Why this one: what was tried before it and why it was passed over. */
  reason: string;
}
