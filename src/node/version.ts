// The package's version, read once from its package.json. This file runs from src/node/ (tests, ts-node) and
// from dist/src/node/ (the build; the ES module entry re-exports this CommonJS module), so the package.json is
// two or three folders up: the first one up whose name is ours.
const PACKAGE_NAME = "specter2-tfjs";

function readVersion(): string {
  for (const path of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = require(path) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not there: try the next one up
    }
  }
  throw new Error(`${PACKAGE_NAME}: its package.json was not found next to ${__dirname}`);
}

/** The version of the specter2-tfjs package, as in its package.json (e.g. "0.1.0"). */
export const VERSION: string = readVersion();
