// Options several commands share, defined once so their wording and checks agree.
import type { BackendChoice } from "../backend/info";
import { BACKEND_CHOICES } from "../backend/info";
import type { Precision } from "../model/capabilities";
import { PRECISIONS } from "../model/capabilities";
import { DEFAULT_BATCH_SIZE } from "../engine/defaults";
import type { OnError } from "../pipeline/embedRecords";
import type { ModelDType } from "../weights/modelDir";
import { MODEL_DTYPES } from "../weights/modelDir";

export const backendOption = {
  choices: BACKEND_CHOICES,
  default: "auto" as BackendChoice,
  describe: "tfjs backend; auto takes the first that initialises of node-gpu, native (when built), node, wasm, cpu",
} as const;

export const threadsOption = {
  type: "number",
  describe: "Threads for the native backend's kernels (default: all cores, or OMP_NUM_THREADS); other backends ignore it",
} as const;

/** For yargs' .check(): --threads, when given, is a positive integer. */
export function checkThreads(args: { threads?: number }): true {
  const n = args.threads;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1024)) throw new Error(`--threads must be an integer from 1 to 1024, got ${n}`);
  return true;
}

/** No yargs default (fp32 when absent), so that only a given --precision is passed on to shard tasks and recorded. */
export const precisionOption = {
  choices: PRECISIONS,
  defaultDescription: "fp32",
  describe:
    "Precision of the matrix products: fp32 (the PyTorch parity guarantee), or bf16 / int8 on the native backend (faster where the CPU has the instructions; fidelity measured in docs/backends.md, check yours with `specter2 parity --precision`)",
} as const;

export const maxLengthOption = {
  type: "number",
  describe: "Tokens per input including [CLS] and [SEP]; longer inputs are truncated (default 512, or the model's position limit if lower)",
} as const;

/** For yargs' .check(): --max-length, when given, leaves room for [CLS] and [SEP]. */
export function checkMaxLength(args: { "max-length"?: number }): true {
  const n = args["max-length"];
  if (n !== undefined && (!Number.isInteger(n) || n < 2)) throw new Error(`--max-length must be an integer of at least 2, got ${n}`);
  return true;
}

export const dtypeOption = {
  choices: MODEL_DTYPES,
  default: "float32" as ModelDType,
  describe:
    "Element type of the stored weights: float16 or bfloat16 halve the size (rounded to nearest even as torch's .half() and .bfloat16(); values beyond float16's range are an error), int8 quarters it (matrices as symmetric int8 with a float32 scale per row); every dtype loads at any --precision",
} as const;

export const workersOption = {
  type: "number",
  defaultDescription: "1 on native, node or node-gpu (they use every core), else one per core",
  describe: "Worker threads computing batches, so the main thread never waits for a forward pass; 0: on the main thread",
} as const;

/** For yargs' .check(): --workers, when given, is a non-negative integer. */
export function checkWorkers(args: { workers?: number }): true {
  const n = args.workers;
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new Error(`--workers must be a non-negative integer, got ${n}`);
  return true;
}

/** What `specter2 embed` computes with, besides its input, output and shard: one schema, declared by embed and
 *  by `slurm submit` (which passes every one of them on to each task), and recorded for the merge's rerun hint. */
export const EMBED_TASK_OPTIONS = {
  adapter: {
    type: "string",
    describe: "Adapter to use (e.g. proximity for papers, adhoc_query for queries); omit for the model's default adapter (`specter2 info` names it), 'none' for the bare base",
  },
  "batch-size": { type: "number", default: DEFAULT_BATCH_SIZE, describe: "Inputs per forward pass (sorted by length first)" },
  "max-length": maxLengthOption,
  backend: backendOption,
  threads: threadsOption,
  workers: workersOption,
  precision: precisionOption,
  verify: { type: "boolean", default: false, describe: "Check every model file against the sha256 in its manifest.json before loading" },
  "max-line-bytes": {
    type: "number",
    describe: "Longest input line read, in bytes (default 64 MiB); a longer line is a bad line (see --on-error), never loaded into memory",
  },
  "on-error": {
    choices: ["fail", "skip"] as const,
    default: "fail" as OnError,
    describe: "A malformed line stops the run (fail; what is done is kept for --resume) or is recorded in <output>.errors.jsonl (skip)",
  },
} as const;

export type EmbedTaskArgs = {
  adapter?: string;
  "batch-size": number;
  "max-length"?: number;
  backend: BackendChoice;
  threads?: number;
  workers?: number;
  precision?: Precision;
  verify: boolean;
  "max-line-bytes"?: number;
  "on-error": OnError;
};

/** For yargs' .check() of every command that declares EMBED_TASK_OPTIONS. */
export function checkEmbedTaskOptions(a: EmbedTaskArgs): true {
  if (!Number.isInteger(a["batch-size"]) || a["batch-size"] < 1) throw new Error(`--batch-size must be a positive integer, got ${a["batch-size"]}`);
  checkMaxLength(a);
  checkThreads(a);
  const m = a["max-line-bytes"];
  if (m !== undefined && (!Number.isSafeInteger(m) || m < 1)) throw new Error(`--max-line-bytes must be a positive integer, got ${m}`);
  return checkWorkers(a);
}

/** The parsed EMBED_TASK_OPTIONS as `specter2 embed` flags again, every one that has a value (less `omit`). */
export function embedTaskFlags(a: EmbedTaskArgs, omit: readonly (keyof EmbedTaskArgs)[] = []): string[] {
  const flags: string[] = [];
  for (const key of Object.keys(EMBED_TASK_OPTIONS) as (keyof EmbedTaskArgs)[]) {
    const value = a[key];
    if (value === undefined || value === false || omit.includes(key)) continue;
    flags.push(`--${key}`, ...(value === true ? [] : [String(value)]));
  }
  return flags;
}
