// What an embedding of a file computes with, besides its input, output and shard: the options of one schema
// (src/engine/options.ts) that embedFile takes, `specter2 embed` and `slurm submit` declare, a shard's done-record
// keeps for a rerun, and each Slurm task is given again as `specter2 embed` flags.
import type { OptionValues } from "../engine/options";
import { checkOptions, flagName, pickOptions } from "../engine/options";

export const EMBED_TASK_OPTIONS = pickOptions("adapter", "batchSize", "maxLength", "normalize", "backend", "threads", "workers", "precision", "verify", "maxLineBytes", "onError");

/** The library's options (absent: the default), by the names of Specter2.load and embed where they are theirs. */
export type EmbedTaskOptions = OptionValues<typeof EMBED_TASK_OPTIONS>;

type EmbedTaskName = keyof EmbedTaskOptions;

const NAMES = Object.keys(EMBED_TASK_OPTIONS) as EmbedTaskName[];

/** Refuses an option the schema does not allow, before anything loads. */
export function checkEmbedTaskOptions(options: EmbedTaskOptions): void {
  checkOptions(options, NAMES);
}

/** The options as `specter2 embed` flags again, in EMBED_TASK_OPTIONS' order: each that has a value (less `omit`). */
export function embedTaskFlags(options: EmbedTaskOptions, omit: readonly EmbedTaskName[] = []): string[] {
  const flags: string[] = [];
  for (const name of NAMES) {
    const value = options[name];
    if (value === undefined || value === false || omit.includes(name)) continue;
    flags.push(`--${flagName(name)}`, ...(value === true ? [] : [String(value)]));
  }
  return flags;
}
