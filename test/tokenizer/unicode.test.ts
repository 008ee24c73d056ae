// Every code point, U+0000 to U+10FFFF (lone surrogates included), goes through our normalizer and
// pre-tokenizer exactly as through the reference's BertNormalizer and BertPreTokenizer, for each
// combination of the normalizer's options. This pins our Unicode tables to the reference's
// (older) Unicode data and our lowercasing to Rust's per-character `to_lowercase`.
import { bertNormalizer, bertPreTokenizer } from "tokenizers";
import { normalize, type NormalizerOptions } from "../../src/tokenizer/normalizer";
import { preTokenize } from "../../src/tokenizer/preTokenizer";

const LAST_CODE_POINT = 0x10ffff;
const CHUNK = 8192;

/** Code points [from, from + CHUNK) each preceded by a space: a starter, so no NFD reordering across them. */
function chunkText(from: number): string[] {
  const chars: string[] = [];
  for (let cp = from; cp < Math.min(from + CHUNK, LAST_CODE_POINT + 1); cp++) chars.push(String.fromCodePoint(cp));
  return chars;
}

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
const codePoints = (s: string): string => [...s].map((c) => hex(c.codePointAt(0) as number)).join(" ");

const OPTION_SETS: NormalizerOptions[] = [
  { lowercase: true, stripAccents: true, handleChineseChars: true }, // uncased BERT (SPECTER2)
  { lowercase: true, stripAccents: false, handleChineseChars: true },
  { lowercase: false, stripAccents: true, handleChineseChars: true },
  { lowercase: false, stripAccents: false, handleChineseChars: false }, // cased BERT
];

test.each(OPTION_SETS)("every code point: %o", (options) => {
  const reference = bertNormalizer({ cleanText: true, ...options });
  const referencePreTokenizer = bertPreTokenizer();
  const mismatches: string[] = [];
  for (let from = 0; from <= LAST_CODE_POINT && mismatches.length < 10; from += CHUNK) {
    const chars = chunkText(from);
    const text = " " + chars.join(" ");
    const ours = normalize(text, options);
    const expected = reference.normalizeString(text);
    if (ours !== expected) {
      // Find the code points that differ, one by one.
      chars.forEach((c, i) => {
        const one = normalize(` ${c}`, options);
        const ref = reference.normalizeString(` ${c}`);
        if (one !== ref) mismatches.push(`${hex(from + i)}: ours [${codePoints(one)}], reference [${codePoints(ref)}]`);
      });
      continue;
    }
    const words = preTokenize(ours);
    const expectedWords = referencePreTokenizer.preTokenizeString(expected).map(([word]) => word);
    if (words.join("\u0000") !== expectedWords.join("\u0000")) mismatches.push(`pre-tokenizer differs in chunk from ${hex(from)}`);
  }
  expect(mismatches.slice(0, 10)).toEqual([]);
});
