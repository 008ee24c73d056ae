// The defaults the engine works out for a model and a call (max length, adapter) and the parity tolerance, in one
// module: the library, the CLI, serve, search and parity all read them here, so that the same call gets the same
// adapter and lengths wherever it is made. The options' constant defaults (backend, batch size, …) are in
// ./options.ts; the workers and threads a machine gets, in src/backend/candidates.ts.
import { Specter2Error } from "../errors";
import { DEFAULT_MAX_LENGTH } from "../tokenizer";
import { checkOption } from "./options";

/** The names that mean the bare base model, no adapter: `--adapter none` on the CLI; the first, `base`, is how the
 *  server APIs name it. */
export const BASE_NAMES: readonly string[] = ["base", "none"];

/** Tokens per input, [CLS] and [SEP] included: 512 as every SPECTER2 reference usage passes (the tokenizer's
 *  file says ~1e30), or the model's position limit if lower; a longer request is refused. */
export function resolveMaxLength(requested: number | undefined, positions: number): number {
  if (requested === undefined) return Math.min(DEFAULT_MAX_LENGTH, positions);
  checkOption("maxLength", requested);
  if (requested > positions) {
    throw new Specter2Error("BAD_INPUT", `maxLength ${requested} exceeds the model's ${positions} positions (max_position_embeddings)`, { field: "maxLength" });
  }
  return requested;
}

/** The adapter used when a call names none: the model directory's `default_adapter` (download records
 *  proximity, convert its first --adapter) if it is loaded, else the first loaded adapter in the directory's
 *  order, else the bare base (null). */
export function defaultAdapterOf(recorded: string | null | undefined, loaded: readonly string[]): string | null {
  if (recorded === null) return null;
  if (recorded !== undefined && loaded.includes(recorded)) return recorded;
  return loaded[0] ?? null;
}

/**
 * Float32 forward passes in a different order of operations agree to a few ulps per op; over 12 layers of
 * unit-scale LayerNorm outputs that accumulates to an order of magnitude below this bound, while any changed
 * equation moves values by orders of magnitude more.
 */
export const DEFAULT_TOLERANCE = { maxAbs: 1e-4, minCosine: 0.99999 };
