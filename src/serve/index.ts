// The `specter2-tfjs/serve` entry: the HTTP service around a loaded engine, for embedding it in a program of
// one's own (the `specter2 serve` command is this plus flags and signal handling).
export { createService, type Service } from "./server";
export type { ServeOptions } from "./context";
