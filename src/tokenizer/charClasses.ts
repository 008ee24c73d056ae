// Per-code-point class flags for the normalizer and pre-tokenizer: one byte per BMP code point
// (a table lookup per character), binary search over the range tables above the BMP.
import { NFD_OPAQUE, NONSPACING_MARK, PUNCTUATION, REMOVED, WHITESPACE } from "./unicodeTables";

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
