// The model card's input for a paper: `title + tokenizer.sep_token + (abstract or "")`.

/** A paper without an abstract still ends in the separator, as in the Python usage. */
export function formatPaper(title: string, abstract: string | null | undefined, sep = "[SEP]"): string {
  return title + sep + (abstract ?? "");
}
