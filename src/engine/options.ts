// Every option the library, the pipeline and the CLI share, each once: its name (the library's camelCase; the CLI
// flag is the same name in kebab-case), type, default, bounds or choices, and help text. The library checks a value
// with checkOption; the CLI builds its yargs options from the same entries (src/cli/options.ts) and checks them with
// the same function, naming the --flag, so that both accept the same values and say the same thing of a bad one.
import { Specter2Error } from "../errors";
import { PRECISIONS } from "../model/config";
import type { Pooling } from "../model/config";
import { DEFAULT_MAX_LENGTH } from "../tokenizer";
import { MODEL_DTYPES } from "../weights/modelDir";

interface OptionBase {
  /** The help text (`specter2 <command> --help`). */
  readonly describe: string;
  /** The default as --help shows it, where the CLI leaves the option absent: the library then applies `default`, or
   *  works one out for the machine (workers). */
  readonly defaultDescription?: string;
}

/** A whole number from `min` to `max`. */
export interface IntegerOption extends OptionBase {
  readonly type: "number";
  readonly min: number;
  readonly max?: number;
  readonly default?: number;
}

/** A string, or one of `choices`. */
export interface StringOption extends OptionBase {
  readonly type: "string";
  readonly choices?: readonly string[];
  readonly default?: string;
}

export interface BooleanOption extends OptionBase {
  readonly type: "boolean";
  readonly default?: boolean;
}

/** Adapter names, or "all" of them (the library's only). */
export interface NamesOption extends OptionBase {
  readonly type: "names";
  readonly default: "all";
}

export type OptionSpec = IntegerOption | StringOption | BooleanOption | NamesOption;

/** The backends a Node load may ask for, by name (the runtime, src/backend, knows what each is; the page has its own
 *  list, src/web/backends.ts). */
export const BACKEND_CHOICES = ["auto", "native", "node-gpu", "node", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const DEFAULT_BACKEND: BackendChoice = "auto";

/** What the engine tells of the backend its forward passes run on. */
export interface BackendInfo {
  /** The tfjs backend name now active ("tensorflow", "wasm", "cpu", "webgl"…). */
  name: string;
  /** The choice that initialised it ("native", "wasm", "webgpu"…). */
  choice: string;
  /** Why this one: what was tried before it and why it was passed over. */
  reason: string;
}

/** Inputs per forward pass, sorted by length first so padding stays small. */
export const DEFAULT_BATCH_SIZE = 8;

const POOLINGS: readonly Pooling[] = ["cls", "mean", "pooler"];

/** Every option, by its library name; grouped by the call that takes it. */
export const OPTIONS = {
  // Loading (Specter2.load)
  backend: {
    type: "string",
    choices: BACKEND_CHOICES,
    default: DEFAULT_BACKEND,
    describe: "tfjs backend; auto takes the first that initialises of node-gpu, native (when built), node, wasm, cpu",
  },
  workers: {
    type: "number",
    min: 0,
    defaultDescription: "1 on native, node or node-gpu (they use every core), else one per core",
    describe: "Worker threads computing batches, so the main thread never waits for a forward pass; 0: on the main thread",
  },
  threads: {
    type: "number",
    min: 1,
    max: 1024,
    describe: "Threads for the native backend's kernels (default: all cores, or OMP_NUM_THREADS); other backends ignore it",
  },
  // A default for the library only, so that only a given --precision is passed on to shard tasks and recorded.
  precision: {
    type: "string",
    choices: PRECISIONS,
    default: "fp32",
    defaultDescription: "fp32",
    describe:
      "Precision of the matrix products: fp32 (the PyTorch parity guarantee), or bf16 / int8 on the native backend (faster where the CPU has the instructions; fidelity measured in docs/backends.md, check yours with `specter2 parity --precision`)",
  },
  adapters: { type: "names", default: "all", describe: 'Adapters to load next to the base: names from the model directory, or "all"' },
  verify: { type: "boolean", default: false, describe: "Check every model file against the sha256 in its manifest.json before loading" },
  // Embedding (embed)
  adapter: {
    type: "string",
    describe: "Adapter to use (e.g. proximity for papers, adhoc_query for queries); omit for the model's default adapter (`specter2 info` names it), 'none' for the bare base",
  },
  batchSize: { type: "number", min: 1, default: DEFAULT_BATCH_SIZE, describe: "Inputs per forward pass (sorted by length first)" },
  maxLength: {
    type: "number",
    min: 2,
    describe: `Tokens per input including [CLS] and [SEP]; longer inputs are truncated (default ${DEFAULT_MAX_LENGTH}, or the model's position limit if lower)`,
  },
  pooling: {
    type: "string",
    choices: POOLINGS,
    default: "cls",
    describe: "cls (SPECTER2's embedding), mean over the tokens, or pooler",
  },
  normalize: { type: "boolean", default: false, describe: "Unit-length vectors (divided by their L2 norm), so that cosine similarity is a dot product" },
  // Embedding a file (src/pipeline/embedFile.ts)
  maxLineBytes: {
    type: "number",
    min: 1,
    describe: "Longest input line read, in bytes (default 64 MiB); a longer line is a bad line (see --on-error), never loaded into memory",
  },
  onError: {
    type: "string",
    choices: ["fail", "skip"],
    default: "fail",
    describe: "A malformed line stops the run (fail; what is done is kept for --resume) or is recorded in <output>.errors.jsonl (skip)",
  },
  resume: { type: "boolean", default: false, describe: "Continue an interrupted run of the same output without re-embedding what is done" },
  // Searching (src/search)
  k: { type: "number", min: 1, default: 10, describe: "How many results to print" },
  // Converting (convert/, download)
  dtype: {
    type: "string",
    choices: MODEL_DTYPES,
    default: "float32",
    describe:
      "Element type of the stored weights: float16 or bfloat16 halve the size (rounded to nearest even as torch's .half() and .bfloat16(); values beyond float16's range are an error), int8 quarters it (matrices as symmetric int8 with a float32 scale per row); every dtype loads at any --precision",
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** The values an entry allows. */
type ValueOf<S extends OptionSpec> = S extends { choices: readonly (infer C)[] }
  ? C
  : S extends IntegerOption
    ? number
    : S extends BooleanOption
      ? boolean
      : S extends NamesOption
        ? string[] | "all"
        : string;

export type OptionValue<N extends OptionName> = ValueOf<(typeof OPTIONS)[N]>;

/** Options as the library takes them: each of `entries`, optional (absent: its default). */
export type OptionValues<T extends Record<string, OptionSpec>> = { [K in keyof T]?: ValueOf<T[K]> };

/** Some entries of OPTIONS, in the order named: the options of one call or command. */
export function pickOptions<N extends OptionName>(...names: N[]): Pick<typeof OPTIONS, N> {
  return Object.fromEntries(names.map((name) => [name, OPTIONS[name]])) as Pick<typeof OPTIONS, N>;
}

/** The CLI flag of an option, without its dashes: the name in kebab-case (batchSize → batch-size). */
export function flagName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** What a valid value is, in words: "a positive integer", "one of fail, skip". */
function requirement(spec: OptionSpec): string {
  switch (spec.type) {
    case "number":
      if (spec.max !== undefined) return `an integer from ${spec.min} to ${spec.max}`;
      return spec.min === 0 ? "a non-negative integer" : spec.min === 1 ? "a positive integer" : `an integer of at least ${spec.min}`;
    case "string":
      return spec.choices ? `one of ${spec.choices.join(", ")}` : "a string";
    case "boolean":
      return "true or false";
    case "names":
      return '"all" or an array of adapter names';
  }
}

function accepts(spec: OptionSpec, value: unknown): boolean {
  switch (spec.type) {
    case "number":
      return Number.isSafeInteger(value) && (value as number) >= spec.min && (spec.max === undefined || (value as number) <= spec.max);
    case "string":
      return typeof value === "string" && (spec.choices === undefined || spec.choices.includes(value));
    case "boolean":
      return typeof value === "boolean";
    case "names":
      return value === "all" || (Array.isArray(value) && value.every((name) => typeof name === "string"));
  }
}

/** A value as a message quotes it: numbers as they are, anything else as JSON (a function or symbol by its type). */
function quoted(value: unknown): string {
  return typeof value === "number" || typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? typeof value);
}

/**
 * Refuses a value the entry does not allow: BAD_INPUT on the option's field, the message naming it as `label` (the
 * CLI passes its --flag). Undefined passes: the option is absent, its default applies.
 */
export function checkOption(name: OptionName, value: unknown, label: string = name): void {
  const spec: OptionSpec = OPTIONS[name];
  if (value !== undefined && !accepts(spec, value)) {
    throw new Specter2Error("BAD_INPUT", `${label} must be ${requirement(spec)}, got ${quoted(value)}`, { field: name });
  }
}

/** checkOption for each of `names` in `options`. */
export function checkOptions<N extends OptionName>(options: { readonly [K in N]?: unknown }, names: readonly N[]): void {
  for (const name of names) checkOption(name, options[name]);
}
