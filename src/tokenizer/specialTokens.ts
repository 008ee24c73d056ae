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

/** Code points that may be word boundaries: ASCII whitespace and punctuation, Unicode spaces, the main CJK blocks. */
const CANDIDATES = /[\t\n\r !-/:-@[-`{-~\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g;

/** How far ahead boundedSegmentsOf searches for special tokens before it cuts plain text (UTF-16 units). */
export const SEGMENT_WINDOW = 4096;

/**
 * The segments of segmentsOf, without searching the whole text ahead: where no special token starts
 * within `window` units, the plain text is cut before the first code point from there on for which
 * `cutsBefore` holds (the caller's word boundary: normalizing the pieces apart must give the same words),
 * so a plain segment may come in several pieces, and a caller who stops early has searched only as far
 * as it read. The special tokens found are exactly segmentsOf's.
 */
export function* boundedSegmentsOf(text: string, specials: ReadonlyMap<string, number>, cutsBefore: (cp: number) => boolean, window = SEGMENT_WINDOW): Generator<Segment> {
  const tokens = [...specials.keys()];
  const longest = tokens.reduce((n, t) => Math.max(n, t.length), 0);
  for (let from = 0; from < text.length;) {
    // Where the plain text would be cut if no token starts before: candidates found by a regular
    // expression (fast), each confirmed by `cutsBefore`. A candidate missed only makes a piece longer.
    let cut = text.length;
    CANDIDATES.lastIndex = from + Math.max(1, window); // a piece holds at least one unit
    for (let m = CANDIDATES.exec(text); m !== null; m = CANDIDATES.exec(text)) {
      if (cutsBefore(text.codePointAt(m.index) as number)) {
        cut = m.index;
        break;
      }
    }
    // The leftmost token (the longest there) that starts at or before the cut: each such one lies whole
    // within the slice searched.
    const searched = cut === text.length ? text.slice(from) : text.slice(from, cut + longest);
    let at = -1;
    let best = "";
    for (const token of tokens) {
      const i = searched.indexOf(token);
      if (i < 0 || from + i > cut) continue;
      if (at < 0 || i < at || (i === at && token.length > best.length)) [at, best] = [i, token];
    }
    if (at < 0) {
      yield { text: text.slice(from, cut) };
      from = cut;
      continue;
    }
    if (at > 0) yield { text: text.slice(from, from + at) };
    yield { text: best, specialId: specials.get(best) as number };
    from += at + best.length;
  }
}
