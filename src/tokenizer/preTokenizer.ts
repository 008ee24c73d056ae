// BertPreTokenizer: split on whitespace (dropped) and around punctuation (each mark its own word); and
// forEachWord, the words of normalizer then pre-tokenizer taken a chunk of the text at a time.
// Follows huggingface/tokenizers tokenizers/src/pre_tokenizers/bert.rs.
import { CJK_CHAR, NFD_OPAQUE_CHAR, PUNCTUATION_CHAR, REMOVED_CHAR, WHITESPACE_CHAR, charFlags, codePointWidth, normalize, type NormalizerOptions } from "./normalizer";
import { MAX_INPUT_CHARS_PER_WORD } from "./wordPiece";

export function preTokenize(s: string): string[] {
  const words: string[] = [];
  let wordStart = -1;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    const flags = charFlags(cp);
    if (flags & (WHITESPACE_CHAR | PUNCTUATION_CHAR)) {
      if (wordStart >= 0) words.push(s.slice(wordStart, i));
      wordStart = -1;
      if (flags & PUNCTUATION_CHAR) words.push(s.slice(i, i + width));
    } else if (wordStart < 0) {
      wordStart = i;
    }
    i += width;
  }
  if (wordStart >= 0) words.push(s.slice(wordStart));
  return words;
}

// forEachWord: the words of a text (what preTokenize(normalize(text)) gives), normalized and split one chunk at a time,
// so that a caller who needs only the first words (truncation to 512 tokens) never normalizes the rest:
// a 2 MiB text costs about what its first chunks cost, not what the whole text would.
//
// Exact by construction. Every normalizer stage but NFD rewrites one code point at a time, and NFD
// decomposes one code point at a time, then reorders each run of non-starters (combining marks) by
// combining class, a stable sort. So:
// - The text is cut only before a code point that clean_text keeps and whose decomposition starts with
//   a starter: normalizing the two pieces apart gives the same string as normalizing them together.
//   A word running across a cut is joined again.
// - What a code point contributes to the normalized text does not depend on its neighbours but for
//   its place, so a stretch of code points none of which normalizes to a space or punctuation on its
//   own adds no word boundary: it continues the word it is in.
// - Removed code points (control characters) and non-starters that normalize to nothing (marks that
//   strip_accents deletes) may be dropped before normalizing: the removed ones go before NFD, and
//   deleting elements commutes with a stable sort.
// - A word of more than MAX_INPUT_CHARS_PER_WORD code points is [UNK] whatever it holds, so once a word
//   is known to be that long its rest needs no normalizing: only its end is looked for.
// The facts about Unicode these rest on (separators are starters; a decomposition that starts with a
// non-starter holds only non-starters) are checked over every code point in test/tokenizer/words.test.ts.

/** UTF-16 units of the first chunk; each next chunk is twice as long, up to MAX_CHUNK. */
export const FIRST_CHUNK = 512;
const MAX_CHUNK = 1 << 16;
/** A word this long (UTF-16 units) has more than MAX_INPUT_CHARS_PER_WORD code points: WordPiece makes it [UNK]. */
const OVERLONG_UNITS = 2 * (MAX_INPUT_CHARS_PER_WORD + 1);
/** A cut this far past where a chunk was meant to end: the stretch between is compacted (see chunkText). */
const COMPACT_AFTER = 256;

/**
 * Calls `visit` with each word of `normalize(text, options)` split as `preTokenize` splits it, in order,
 * until `visit` returns false. A word of more than MAX_INPUT_CHARS_PER_WORD code points may be passed
 * cut short or with some of its marks left out (still over that limit), since WordPiece makes it [UNK]
 * whatever it holds. `firstChunk` and `maxChunk` are for tests: small chunks put many cuts into a short text.
 */
export function forEachWord(text: string, options: NormalizerOptions, visit: (word: string) => boolean, firstChunk = FIRST_CHUNK, maxChunk = MAX_CHUNK): void {
  if (text.length <= firstChunk) {
    for (const word of preTokenize(normalize(text, options))) if (!visit(word)) return;
    return;
  }
  const classes = classesFor(options);
  /** The normalized start of the word the last chunk ended in ("" if it ended between words). */
  let carry = "";
  let size = firstChunk;
  for (let pos = 0; pos < text.length;) {
    const blank = blankRun(text, pos, classes);
    if (blank.spaced) {
      if (carry !== "" && !visit(carry)) return;
      carry = "";
    }
    pos = blank.end;
    if (pos >= text.length) break;
    if (carry.length >= OVERLONG_UNITS) {
      pos = endOfWordFrom(text, pos, classes);
      if (pos >= text.length) break;
    }
    const { chunk, end } = chunkText(text, pos, pos + size, classes);
    size = Math.min(2 * size, maxChunk);
    pos = end;
    const s = normalize(chunk, options);
    let wordStart = -1;
    for (let i = 0; i < s.length;) {
      const cp = s.codePointAt(i) as number;
      const width = codePointWidth(cp);
      const flags = charFlags(cp);
      if (flags & (WHITESPACE_CHAR | PUNCTUATION_CHAR)) {
        if (wordStart >= 0 || carry !== "") {
          const word = wordStart >= 0 ? carry + s.slice(wordStart, i) : carry;
          carry = "";
          if (!visit(word)) return;
        }
        wordStart = -1;
        if (flags & PUNCTUATION_CHAR && !visit(s.slice(i, i + width))) return;
      } else if (wordStart < 0) {
        wordStart = i;
      }
      i += width;
    }
    if (wordStart >= 0) {
      carry += s.slice(wordStart);
      // An overlong word is [UNK] however it goes on: keep only enough of it to say so.
      if (carry.length > OVERLONG_UNITS) carry = carry.slice(0, OVERLONG_UNITS);
    }
  }
  if (carry !== "") visit(carry);
}

/** What the chunking needs to know of a code point (bits; 0: not yet computed). */
const KNOWN = 1;
/** A cut right before it is exact. */
const CLEAN = 2;
/** Normalizes to nothing and may be dropped beforehand: removed, or a non-starter that strip_accents deletes. */
const DROP = 4;
/** Its normalization, alone, holds a space or punctuation: it may end a word. */
const SEPARATES = 8;

/** Per code point, computed when first needed; one table per normalizer configuration. */
type Classes = (cp: number) => number;
const TABLES = new Map<string, Uint8Array>();

function classesFor(options: NormalizerOptions): Classes {
  const key = `${+options.lowercase}${+options.stripAccents}${+options.handleChineseChars}`;
  let table = TABLES.get(key);
  if (!table) TABLES.set(key, (table = new Uint8Array(0x110000)));
  const t = table;
  return (cp) => t[cp] || (t[cp] = classify(cp, options));
}

function classify(cp: number, options: NormalizerOptions): number {
  if (charFlags(cp) & REMOVED_CHAR) return KNOWN | DROP;
  const normalized = normalize(String.fromCodePoint(cp), options);
  let bits = KNOWN;
  if (startsWithStarter(cp, options)) bits |= CLEAN;
  else if (normalized === "") bits |= DROP;
  for (let i = 0; i < normalized.length; i++) if (charFlags(normalized.charCodeAt(i)) & (WHITESPACE_CHAR | PUNCTUATION_CHAR)) bits |= SEPARATES;
  return bits;
}

/**
 * Whether text may be cut before `cp` into pieces whose words, each taken apart, are the words of the
 * whole: a space (clean_text makes every whitespace one) or ASCII punctuation (a word of its own), or an
 * ideograph (" X "); each a starter that NFD keeps as it is, and none removed by clean_text.
 */
export function separatesWords(cp: number, options: NormalizerOptions): boolean {
  const flags = charFlags(cp);
  if (flags & REMOVED_CHAR) return false;
  if (flags & WHITESPACE_CHAR || (options.handleChineseChars && flags & CJK_CHAR)) return true;
  return cp < 0x80 && (flags & PUNCTUATION_CHAR) !== 0;
}

/**
 * Whether `cp` (not a removed one) decomposes to something that starts with a starter, so that NFD
 * reorders nothing across a cut before it.
 */
export function startsWithStarter(cp: number, options: NormalizerOptions): boolean {
  if (cp >= 0x20 && cp <= 0x7e) return true; // printable ASCII: a starter that NFD keeps as it is
  if (!options.stripAccents) return true; // no NFD: every stage is one code point at a time
  const flags = charFlags(cp);
  // Whitespace becomes " ", an ideograph " X ": starters. The reference's NFD treats characters newer
  // than its tables (opaque) as starters, and so does ours (normalizer.ts).
  if (flags & (WHITESPACE_CHAR | NFD_OPAQUE_CHAR)) return true;
  if (flags & CJK_CHAR && options.handleChineseChars) return true;
  // U+0345 has the highest combining class (240): after it any non-starter but itself is reordered, a
  // starter is not. (Combining classes and decompositions of assigned characters never change between
  // Unicode versions, so the engine's tables answer for the reference's on every code point that is not
  // opaque.)
  if (cp === 0x345) return false;
  const c = String.fromCodePoint(cp);
  return `\u0345${c}`.normalize("NFD") === `\u0345${c.normalize("NFD")}`;
}

/**
 * The next chunk: the text from `pos` to the first clean cut at or after `target`. When that cut lies far
 * beyond `target`, the stretch between is code points that are no clean cut, i.e. removed ones and
 * non-starters (whose decompositions hold only non-starters): without a separator among them they all
 * fall into one word, so the droppable ones are left out, and of the rest only enough to make that
 * word overlong are kept (each keeps at least one code point).
 */
function chunkText(text: string, pos: number, target: number, classes: Classes): { chunk: string; end: number } {
  let i = Math.min(target, text.length);
  if (i < text.length && isTrailSurrogate(text.charCodeAt(i)) && isLeadSurrogate(text.charCodeAt(i - 1))) i++;
  const from = i;
  while (i < text.length) {
    const cp = text.codePointAt(i) as number;
    if (classes(cp) & CLEAN) break;
    i += codePointWidth(cp);
  }
  if (i - from <= COMPACT_AFTER) return { chunk: text.slice(pos, i), end: i };
  let kept = "";
  let keptCount = 0;
  for (let k = from; k < i;) {
    const cp = text.codePointAt(k) as number;
    const width = codePointWidth(cp);
    const bits = classes(cp);
    if (bits & SEPARATES) return { chunk: text.slice(pos, i), end: i }; // not one word: no shortcut
    if (!(bits & DROP) && keptCount <= MAX_INPUT_CHARS_PER_WORD) {
      kept += text.slice(k, k + width);
      keptCount++;
    }
    k += width;
  }
  return { chunk: text.slice(pos, from) + kept, end: i };
}

/**
 * Whitespace and removed code points from `pos` on yield no word, only a boundary if any whitespace is
 * among them: when they are followed by the end, a clean cut, or anything after a space (a starter, so
 * NFD reorders nothing across it), the next chunk may start after them.
 */
function blankRun(text: string, pos: number, classes: Classes): { end: number; spaced: boolean } {
  let spaced = false;
  let i = pos;
  while (i < text.length) {
    const unit = text.charCodeAt(i);
    if (unit <= 0x20) {
      // U+0009, U+000A, U+000D and U+0020 are whitespace; the other ASCII controls are removed.
      if (unit === 0x20 || unit === 0x09 || unit === 0x0a || unit === 0x0d) spaced = true;
      i++;
      continue;
    }
    if (unit < 0x7f) break;
    const cp = text.codePointAt(i) as number;
    const flags = charFlags(cp);
    if (flags & REMOVED_CHAR) i += codePointWidth(cp);
    else if (flags & WHITESPACE_CHAR) {
      spaced = true;
      i += codePointWidth(cp);
    } else break;
  }
  if (spaced || i === text.length || classes(text.codePointAt(i) as number) & CLEAN) return { end: i, spaced };
  return { end: pos, spaced: false };
}

/**
 * Where an overlong word that goes on at `pos` may end: the first code point that may separate words,
 * if a cut before it is clean, else the last clean cut before it (or `pos`). What lies between
 * normalizes to no separator, so it only continues the word.
 */
function endOfWordFrom(text: string, pos: number, classes: Classes): number {
  let lastClean = pos;
  for (let i = pos; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const bits = classes(cp);
    if (bits & CLEAN) lastClean = i;
    if (bits & SEPARATES) return lastClean;
    i += codePointWidth(cp);
  }
  return text.length;
}

function isLeadSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isTrailSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
