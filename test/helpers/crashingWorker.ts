// A pool worker script for tests: the real worker, except that it dies on the first batch any worker
// of its kind receives (`once`, marked by a file in `dir`) or on every batch (`always`).
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes the script into `dir` and returns its path (for Specter2Pool's workerScript). */
export function crashingWorker(dir: string, mode: "once" | "always"): string {
  const script = join(dir, `crash-${mode}.js`);
  const marker = join(dir, "crashed");
  writeFileSync(
    script,
    `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, swc: true });
require(${JSON.stringify(join(__dirname, "..", "..", "src", "pool", "worker.ts"))});
const fs = require("node:fs");
require("node:worker_threads").parentPort.on("message", () => {
  if (${JSON.stringify(mode)} === "once") {
    try { fs.closeSync(fs.openSync(${JSON.stringify(marker)}, "wx")); } catch { return; }
  }
  process.exit(7);
});
`,
  );
  return script;
}
