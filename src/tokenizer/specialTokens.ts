// Special tokens written in the raw text ("[SEP]", exact case) are matched before normalization,
// leftmost first and longest at a position, as the reference's added-token matcher does
// (huggingface/tokenizers tokenizers/src/tokenizer/added_vocabulary.rs, normalized=false).

/** A piece of the input: either plain text to normalize, or one special token's id. */
export type Segment = { text: string; specialId?: undefined } | { text: string; specialId: number };

export function splitOnSpecialTokens(text: string, specials: ReadonlyMap<string, number>): Segment[] {
  return [...segmentsOf(text, specials)];
}

/** The segments one at a time, so that a caller who stops early does not split the rest. */
export function* segmentsOf(text: string, specials: ReadonlyMap<string, number>): Generator<Segment> {
  const tokens = [...specials.keys()];
  // Each token's next occurrence, searched again only once the scan has passed it: linear in the
  // text however many special tokens it holds.
  const nextAt = tokens.map((token) => text.indexOf(token));
  let from = 0;
  for (;;) {
    let best = -1;
    tokens.forEach((token, i) => {
      if (nextAt[i] < 0) return;
      if (best < 0 || nextAt[i] < nextAt[best] || (nextAt[i] === nextAt[best] && token.length > tokens[best].length)) best = i;
    });
    if (best < 0) break;
    const at = nextAt[best];
    if (at > from) yield { text: text.slice(from, at) };
    yield { text: tokens[best], specialId: specials.get(tokens[best]) as number };
    from = at + tokens[best].length;
    tokens.forEach((token, i) => {
      if (nextAt[i] >= 0 && nextAt[i] < from) nextAt[i] = text.indexOf(token, from);
    });
  }
  if (from < text.length) yield { text: text.slice(from) };
}
