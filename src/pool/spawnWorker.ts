// Starting a worker thread from compiled JavaScript or, under ts-node or jest, from TypeScript sources:
// worker threads do not inherit ts-node's loader, so a .ts script gets it registered first.
import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";

export function spawnWorker(script: string, workerData?: unknown): Worker {
  if (extname(script) !== ".ts") return new Worker(script, { workerData });
  const source = `require("ts-node").register({ transpileOnly: true, swc: true }); require(${JSON.stringify(script)});`;
  return new Worker(source, { eval: true, workerData });
}

/** The sibling script `name` of a module, in the module's own language (.ts or .js). */
export function siblingScript(moduleFile: string, dir: string, name: string): string {
  return join(dir, `${name}${extname(moduleFile)}`);
}
