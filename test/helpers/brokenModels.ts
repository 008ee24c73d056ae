// The model directories that once crashed the native backend on load: each breaks a copy of the demo model one way
// and names the exit status and message it must end in. test/native/failedLoad.test.ts loops them on the native
// backend, test/reliability/attacks/brokenModels.test.ts on wasm.
import { readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_CODES } from "../../src/cli/exitCodes";
import type { CliRun } from "./builtCli";
import { PAPERS_FILE } from "./builtCli";

export interface BrokenModel {
  name: string;
  /** Breaks a copy of the demo model. */
  damage: (dir: string) => void;
  exitCode: number;
  message: RegExp;
}

export const BROKEN_MODELS: BrokenModel[] = [
  {
    name: "a truncated adapter file",
    damage: (dir) => truncateSync(join(dir, "adapters", "proximity.safetensors"), 100),
    exitCode: EXIT_CODES.BAD_CHECKPOINT,
    message: /adapters\/proximity\.safetensors: .*truncated/,
  },
  {
    name: "a missing adapter file",
    damage: (dir) => rmSync(join(dir, "adapters", "regression.safetensors")),
    exitCode: EXIT_CODES.MODEL_NOT_FOUND,
    message: /adapters\/regression\.safetensors/,
  },
  {
    name: "a manifest without base",
    damage: (dir) => {
      const path = join(dir, "manifest.json");
      const manifest = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      delete manifest.base;
      writeFileSync(path, JSON.stringify(manifest, null, 2));
    },
    exitCode: EXIT_CODES.BAD_CHECKPOINT,
    message: /manifest\.json.*\bbase\b/,
  },
];

/** The commands a user meets a model directory with, each to be run with --backend and --workers: `embed`, and
 *  `serve` (which must not get ready). */
export function brokenModelCommands(dir: string, output: string): [string, string[]][] {
  return [
    ["embed", ["embed", "--model", dir, "--input", PAPERS_FILE, "--output", output]],
    ["serve", ["serve", "--model", dir, "--port", "0", "--log-level", "info"]],
  ];
}

/** What went wrong in a run on the broken model `c`, in one line (null: it ended with the loader's message and exit
 *  status, as it must; never a signal or a hang). */
export function brokenModelProblem(o: CliRun, c: BrokenModel): string | null {
  if (o.timedOut) return `did not end within ${o.ms.toFixed(0)} ms`;
  if (o.signal !== null || o.status === null) return `ended by ${o.signal} (a crash), stderr: ${JSON.stringify(o.stderr)}`;
  if (o.status !== c.exitCode) return `exit ${o.status} instead of ${c.exitCode}, stderr: ${JSON.stringify(o.stderr)}`;
  if (!c.message.test(o.stderr)) return `stderr ${JSON.stringify(o.stderr)} does not match ${c.message}`;
  return null;
}
