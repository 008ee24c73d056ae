// Which packages the published declarations reach: walks the .d.ts import graph from each `exports`
// entry's `types` and prints every import of another package, with the declaration file and line that
// makes it (e.g. @tensorflow/tfjs-core, whose declarations do not pass TypeScript 7's lib check). Conditions with
// their own `types` (the browser entry's) are walked too, as "<entry> (<condition>)".
//
// Usage: node scripts/public-types.mjs [package root, default: the current directory] [--json]
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith("--")) ?? ".");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// Each entry's `types`, and those under its conditions (".": its own, and ". (browser)" from the browser condition).
const entries = Object.entries(pkg.exports ?? {})
  .filter(([, t]) => typeof t === "object" && t !== null)
  .flatMap(([entry, t]) => [
    ...(t.types ? [[entry, { types: t.types }]] : []),
    ...Object.entries(t)
      .filter(([, c]) => typeof c === "object" && c !== null && c.types)
      .map(([condition, c]) => [`${entry} (${condition})`, { types: c.types }]),
  ]);

const missing = [];
const external = []; // { entry, file, line, package, text, via: the chain of declaration files from the entry }
for (const [entry, { types }] of entries) {
  const seen = new Set();
  const visit = (file, via = []) => {
    if (seen.has(file)) return;
    seen.add(file);
    const chain = [...via, relative(root, file)];
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((text, i) => {
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|^\s*import\s+|\/\/\/\s*<reference\s+types=)["']([^"']+)["']/g)) {
        const spec = m[1];
        if (spec.startsWith(".")) {
          const base = resolve(dirname(file), spec.replace(/\.js$/, ""));
          const target = [`${base}.d.ts`, join(base, "index.d.ts")].find((p) => existsSync(p));
          if (target) visit(target, chain);
        } else {
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
          external.push({ entry, file: relative(root, file), line: i + 1, package: name, text: text.trim(), via: chain });
        }
      }
    });
  };
  if (existsSync(join(root, types))) visit(join(root, types));
  else missing.push(`${entry}: ${types} is not built (npm run build)`);
}

if (args.includes("--json")) console.log(JSON.stringify(external, null, 2));
else {
  for (const line of missing) console.log(line);
  for (const [entry, { types }] of entries) {
    if (!existsSync(join(root, types))) continue;
    const mine = external.filter((e) => e.entry === entry);
    const packages = [...new Set(mine.map((e) => e.package))].sort();
    console.log(`${entry}: ${packages.length ? packages.join(", ") : "no other package"}`);
    for (const e of mine.filter((x) => !x.package.startsWith("node:"))) console.log(`  ${e.file}:${e.line}  ${e.text}\n    reached by ${e.via.join(" → ")}`);
  }
}
