// The backends a load may ask for, by name: no imports, so the browser entry and the CLI's option definitions read
// them without loading a backend.

export const BACKEND_CHOICES = ["auto", "native", "node-gpu", "node", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
