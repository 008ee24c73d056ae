// npm run build:web: the browser entry as one ES module, dist/web/specter2.js (usable from <script type="module">
// with no bundler), its Web Worker module beside it, and tfjs' wasm binaries beside both, where the module looks
// for them by default (relative to its own URL).
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "web");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { specter2: join(root, "src/web/index.ts"), "specter2.worker": join(root, "src/web/worker.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  logLevel: "warning",
});
const wasmDir = join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
for (const file of readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"))) copyFileSync(join(wasmDir, file), join(out, file));
console.log(`built ${out}: ${readdirSync(out).join(", ")}`);
