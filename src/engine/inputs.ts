// The engine's front half, the same whichever thread computes: what text an input is, its token ids, and how a call's
// inputs are cut into forward passes.
import { Specter2Error } from "../errors";
import type { BertTokenizer } from "../tokenizer";
import { formatPaper } from "../tokenizer";

export interface Paper {
  title?: string | null;
  abstract?: string | null;
}

/** A raw text (a query) or a paper, embedded as `title [SEP] abstract`. */
export type EmbedInput = string | Paper;

/** A batch's adapters, resolved: one name (null: the bare base) for every row, or one per row. */
export type BatchAdapters = string | null | readonly (string | null)[];

/** A paper as the model card builds it: `title + [SEP] + (abstract ?? "")`; a string as it is. Anything else
 *  is refused naming its position, before any work is done. */
export function textOf(input: EmbedInput, sep: string, index: number): string {
  if (typeof input === "string") return input;
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new Specter2Error("BAD_INPUT", `input ${index}: expected a string or a paper {title, abstract}, got ${describe(input)}`, { input: index });
  }
  for (const field of ["title", "abstract"] as const) {
    const value = input[field];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new Specter2Error("BAD_INPUT", `input ${index}: ${field} must be a string, got ${describe(value)}`, { input: index, field });
    }
  }
  return formatPaper(input.title ?? "", input.abstract, sep);
}

/** Token ids of each input, `[CLS] … [SEP]`, truncated to maxLength. */
export function encodeInputs(tokenizer: BertTokenizer, inputs: readonly EmbedInput[], maxLength: number): number[][] {
  if (!Array.isArray(inputs)) throw new Specter2Error("BAD_INPUT", `inputs must be an array of strings or papers, got ${describe(inputs)}`);
  // (Array.isArray narrows `inputs` to any[]: the callback says what its elements are.)
  const texts = inputs.map((input: EmbedInput, i) => textOf(input, tokenizer.sepToken, i));
  return texts.map((text) => tokenizer.encode(text, { maxLength }).ids);
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Row indices in batches of at most `batchSize`, sorted by token length (shortest first, ties in input order), so
 *  each batch pads little. The engine forms them once, wherever the passes then run, so a call gets the same
 *  numbers in-process and on workers (a batch's padding width changes the summation order, and so the last bits). */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b]);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize));
  return batches;
}
