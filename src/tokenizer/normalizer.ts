// BertNormalizer: clean text → space around CJK ideographs → NFD and drop Mn marks → lowercase,
// in that order, on the text between special tokens; with the per-code-point character classes the
// normalizer and the pre-tokenizer share, and code-point-wise string rewriting.
// Follows huggingface/tokenizers tokenizers/src/normalizers/bert.rs.
import { LOWERCASE_EXPANSIONS, LOWERCASE_OFFSETS, NFD_OPAQUE, NONSPACING_MARK, PUNCTUATION, REMOVED, WHITESPACE } from "./unicodeTables";

export interface NormalizerOptions {
  lowercase: boolean;
  /** NFD, then delete non-spacing marks. */
  stripAccents: boolean;
  /** Put spaces around CJK ideographs so each becomes a word. */
  handleChineseChars: boolean;
}

export function normalize(text: string, options: NormalizerOptions): string {
  let s = cleanText(text);
  if (options.handleChineseChars) s = spaceAroundCjk(s);
  if (options.stripAccents && !isAscii(s)) s = stripAccents(s);
  if (options.lowercase) s = lowercase(s);
  return s;
}

/** Deletes NUL, U+FFFD and control characters; every whitespace character becomes a space. */
function cleanText(s: string): string {
  return mapCodePoints(s, (cp) => {
    const flags = charFlags(cp);
    if (flags & REMOVED_CHAR) return "";
    if (flags & WHITESPACE_CHAR && cp !== 0x20) return " ";
    return undefined;
  });
}

function spaceAroundCjk(s: string): string {
  return mapCodePoints(s, (cp) => (charFlags(cp) & CJK_CHAR ? ` ${String.fromCodePoint(cp)} ` : undefined));
}

function stripAccents(s: string): string {
  return mapCodePoints(nfd(s), (cp) => (charFlags(cp) & NONSPACING_MARK_CHAR ? "" : undefined));
}

/**
 * NFD as the reference's (older) tables do it: characters newer than those tables are neither
 * decomposed nor reordered, so the text is normalized in pieces around them.
 */
function nfd(s: string): string {
  let out = "";
  let pieceStart = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    if (charFlags(cp) & NFD_OPAQUE_CHAR) {
      out += s.slice(pieceStart, i).normalize("NFD") + s.slice(i, i + width);
      pieceStart = i + width;
    }
    i += width;
  }
  return out + s.slice(pieceStart).normalize("NFD");
}

// Per-code-point class flags: one byte per BMP code point (a table lookup per character), binary search over the
// range tables above the BMP.

export const REMOVED_CHAR = 1;
export const WHITESPACE_CHAR = 2;
export const PUNCTUATION_CHAR = 4;
export const NONSPACING_MARK_CHAR = 8;
export const CJK_CHAR = 16;
export const NFD_OPAQUE_CHAR = 32;

/** The "Chinese character" blocks of Hugging Face's BertNormalizer (CJK ideographs), inclusive. */
const CJK: readonly number[] = [0x3400, 0x4dbf, 0x4e00, 0x9fff, 0xf900, 0xfaff, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b920, 0x2ceaf, 0x2f800, 0x2fa1f];

const TABLES: ReadonlyArray<[flag: number, ranges: readonly number[]]> = [
  [REMOVED_CHAR, REMOVED],
  [WHITESPACE_CHAR, WHITESPACE],
  [PUNCTUATION_CHAR, PUNCTUATION],
  [NONSPACING_MARK_CHAR, NONSPACING_MARK],
  [CJK_CHAR, CJK],
  [NFD_OPAQUE_CHAR, NFD_OPAQUE],
];

const BMP_FLAGS = new Uint8Array(0x10000);
for (const [flag, ranges] of TABLES) {
  for (let i = 0; i < ranges.length; i += 2) {
    for (let cp = ranges[i]; cp <= ranges[i + 1] && cp < 0x10000; cp++) BMP_FLAGS[cp] |= flag;
  }
}
// A lone surrogate reaches the reference as U+FFFD (UTF-8 encoding replaces it), which clean_text removes.
BMP_FLAGS.fill(REMOVED_CHAR, 0xd800, 0xe000);

function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The class flags of a code point (as `codePointAt` reads it: lone surrogates included). */
export function charFlags(cp: number): number {
  if (cp < 0x10000) return BMP_FLAGS[cp];
  let flags = 0;
  for (const [flag, ranges] of TABLES) if (inRanges(ranges, cp)) flags |= flag;
  return flags;
}

// Code-point-wise string rewriting shared by the normalizer's stages.

// eslint-disable-next-line no-control-regex -- ASCII is U+0000–U+007F, so its range starts at a control character
const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/** UTF-16 units of a code point. */
export function codePointWidth(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/**
 * Rewrites `s` one code point at a time (a lone surrogate is its own code point): `replace`
 * returns the replacement, or undefined to keep the code point. Unchanged runs are copied as
 * slices, and an unchanged string is returned as is.
 */
export function mapCodePoints(s: string, replace: (cp: number) => string | undefined): string {
  let out = "";
  let copiedUpTo = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    const replacement = replace(cp);
    if (replacement !== undefined) {
      out += s.slice(copiedUpTo, i) + replacement;
      copiedUpTo = i + width;
    }
    i += width;
  }
  return copiedUpTo === 0 ? s : out + s.slice(copiedUpTo);
}

// Lowercasing character by character with Rust's `char::to_lowercase` mapping (unicodeTables.ts), so the result
// depends neither on the JS engine's Unicode version nor on context: JavaScript's toLowerCase turns a word-final Σ
// into ς, Rust's per-character mapping always gives σ.

const LOWER = new Map<number, string>(LOWERCASE_EXPANSIONS);
for (let i = 0; i < LOWERCASE_OFFSETS.length; i += 4) {
  const [start, end, step, offset] = LOWERCASE_OFFSETS.slice(i, i + 4);
  for (let cp = start; cp <= end; cp += step) LOWER.set(cp, String.fromCodePoint(cp + offset));
}

export function lowercase(s: string): string {
  // For ASCII every engine's toLowerCase is exactly A-Z → a-z, and fast.
  if (isAscii(s)) return s.toLowerCase();
  return mapCodePoints(s, (cp) => LOWER.get(cp));
}
