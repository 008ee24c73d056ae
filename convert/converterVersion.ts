// "specter2-tfjs <version>" for manifests, read from our package.json (found from here both in the
// source tree and in dist/, which sit at different depths).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const PACKAGE_NAME = "specter2-tfjs";

export function converterName(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME) return `${PACKAGE_NAME} ${pkg.version}`;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find ${PACKAGE_NAME}'s package.json above ${__dirname}`);
  }
}
