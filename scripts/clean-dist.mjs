// `npm pack` / `npm publish` run this first (prepack), then `prepare` builds: the tarball holds only what
// this build made, nothing left in dist/ by an older tree or by the test build (source maps, dist/test).
//
// Usage: node scripts/clean-dist.mjs [package root, default: the current directory]
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".");
for (const dir of ["dist/src", "dist/convert", "dist/esm"]) rmSync(join(root, dir), { recursive: true, force: true });
