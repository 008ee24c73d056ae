// npm run build:web (and npm run build): the browser entry, src/web/index.ts (bundled from src/web/bundle.ts, which
// registers the page's backends), built three ways into dist/web:
//
//   dist/web/specter2.js, specter2.worker.js   one self-contained ES module each (tfjs included), for a page with no
//                                               bundler (<script type="module">); tfjs' wasm binaries beside them,
//                                               where the module looks for them by default (relative to its own URL)
//   dist/web/esm/index.js, specter2.worker.js  the same entries with every npm dependency left a bare import: what a
//                                               bundler gets from the package's "browser" export condition
//   dist/web/types/                             declarations of src/web (tsc -p tsconfig.web.json), for that condition
//   dist/web/demo/                              the demo page (examples/web and examples/papers.jsonl), served by
//                                               `specter2 web` beside the bundle it imports (../specter2.js)
//
// Usage: node scripts/build-web.mjs [--out DIR] [--no-types]
//   --out DIR     write there instead of dist/web (the browser tests build into a temporary folder)
//   --no-types    skip the declarations (seconds of tsc; the bundles alone take about one)
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? resolve(args[outAt + 1] ?? "") : join(root, "dist", "web");
const types = !args.includes("--no-types");
if (outAt >= 0 && !args[outAt + 1]) throw new Error("build-web: --out needs a folder");

// What an older build left (another file set, stale declarations) must not ship.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const entryPoints = { specter2: join(root, "src/web/bundle.ts"), "specter2.worker": join(root, "src/web/worker.ts") };
// The version a model converted in the page records as its converter (src/web/hubModel.ts).
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const common = { bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "warning", define: { __SPECTER2_VERSION__: JSON.stringify(version) } };
await Promise.all([
  build({ ...common, entryPoints, outdir: out, minify: true }),
  // For bundlers: the package's code bundled (its modules are internal), tfjs and any other dependency imported
  // by name, so the application's bundler resolves them once (one tfjs for the app and for us).
  build({ ...common, entryPoints: { index: entryPoints.specter2, "specter2.worker": entryPoints["specter2.worker"] }, outdir: join(out, "esm"), packages: "external" }),
]);

// The package itself has no "type": this marks esm/*.js as ES modules for every tool that asks (Node-style resolvers).
writeFileSync(join(out, "esm", "package.json"), `${JSON.stringify({ type: "module" })}\n`);

const wasmDir = join(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
for (const file of readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"))) copyFileSync(join(wasmDir, file), join(out, file));

mkdirSync(join(out, "demo"), { recursive: true });
cpSync(join(root, "examples", "web"), join(out, "demo"), { recursive: true });
copyFileSync(join(root, "examples", "papers.jsonl"), join(out, "demo", "papers.jsonl"));

if (types) {
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  // tsconfig.web.json type-checks src/web as a page sees it (noEmit); here it emits only declarations, without the
  // @internal members, under dist/web/types/src/web/ (tsconfig.json's rootDir is the repository).
  execFileSync(
    process.execPath,
    [tsc, "-p", join(root, "tsconfig.web.json"), "--noEmit", "false", "--declaration", "--emitDeclarationOnly", "--stripInternal", "--sourceMap", "false", "--outDir", join(out, "types")],
    { stdio: "inherit" },
  );
}
console.log(`built ${out}: ${readdirSync(out).join(", ")}`);
