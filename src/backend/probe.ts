// Which backend `--backend auto` would take here, told without loading one: loading tfjs-node starts
// TensorFlow and registers kernels, too heavy (and too stateful) for `specter2 info`. Installed packages
// are found with require.resolve; whether the first one then initialises is only known when a model loads,
// in which case initBackend falls through to the next, as the probe's reason says.
import type { Candidate } from "./candidates";
import { CANDIDATES, missing } from "./candidates";

export interface BackendProbe {
  /** The first installed candidate, or null if none is. */
  choice: Candidate["choice"] | null;
  reason: string;
  candidates: { choice: Candidate["choice"]; pkg: string; installed: boolean }[];
}

export function probeAutoBackend(resolve: (pkg: string) => string = require.resolve): BackendProbe {
  const candidates = CANDIDATES.map((c) => ({ choice: c.choice, pkg: c.pkg, installed: isInstalled(c.pkg, resolve) }));
  const first = candidates.findIndex((c) => c.installed);
  const passed = candidates.slice(0, first === -1 ? candidates.length : first).map((c) => `${c.choice} ${missing(c.choice)} (${c.pkg})`);
  if (first === -1) return { choice: null, reason: `no backend package is installed: ${passed.join("; ")}`, candidates };
  const picked = candidates[first];
  const fallback = candidates
    .slice(first + 1)
    .filter((c) => c.installed)
    .map((c) => c.choice);
  const reason = [
    ...passed,
    `${picked.choice} ${picked.choice === "native" ? "built" : "installed"} (${picked.pkg})`,
    `if it fails to initialise: ${fallback.length > 0 ? fallback.join(", then ") : "nothing else is installed"}`,
  ].join("; ");
  return { choice: picked.choice, reason, candidates };
}

function isInstalled(pkg: string, resolve: (pkg: string) => string): boolean {
  try {
    resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
