// Options several commands share, defined once so their wording and checks agree.
import { BACKEND_CHOICES, BackendChoice } from "../backend/select";
import { MODEL_DTYPES, ModelDType } from "../weights/modelDir";

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
  describe: "Element type of the stored weights (float16 halves the size; rounded to nearest even as torch's .half(), values beyond float16's range are an error)",
} as const;
