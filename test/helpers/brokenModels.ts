// The model directories that once crashed the native backend on load (issue 20, row 3): each breaks a copy of the demo
// model one way and names the exit status and message it must end in. test/native/failedLoad.test.ts loops them;
// benchmarks/reliability.ts reruns them as an attack.
import { readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_CODES } from "../../src/cli/exitCodes";

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
