// Randomized (seeded) strings drawn across the Unicode planes, from combining marks of every
// kind, and from the special-token set: ids must equal the reference's. On a mismatch fast-check
// shrinks to a minimal failing string and the error shows it with its code points.
import fc from "fast-check";
import { bertNormalizer, type Tokenizer } from "tokenizers";
import { normalize } from "../../src/tokenizer/normalizer";
import { referenceTokenizer } from "../helpers/hfTokenizer";
import { VOCABS, ourTokenizer } from "../fixtures/tokenizer/tokenizers";

const SEED = 20231125;
const RUNS = 4000;

const codePointIn = (min: number, max: number): fc.Arbitrary<string> => fc.integer({ min, max }).map((cp) => String.fromCodePoint(cp));

/** One piece of a random string. */
const unit: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("[SEP]", "[CLS]", "[MASK]", "[PAD]", "[UNK]", "[sep]", "[", "]", "SEP", "##"), weight: 3 },
  { arbitrary: fc.constantFrom("protein", "un", "aff", "able", "token", "izer", "the", "of", "cafe", "α", "Σ", "İ", "ß", "中", "🧬"), weight: 3 },
  { arbitrary: fc.constantFrom(" ", " ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "\u200d", "\u0000", "\ufffd", "\u0085"), weight: 3 },
  // Combining marks with many combining classes, some newer than the reference's tables.
  {
    arbitrary: fc.constantFrom(
      "\u0301",
      "\u0316",
      "\u0327",
      "\u0334",
      "\u0345",
      "\u05b0",
      "\u0e38",
      "\u0f71",
      "\u0f72",
      "\u0f74",
      "\u3099",
      "\u07fd",
      "\u0897",
      "\u1abf",
      "\u{1e4ef}",
      "\u{1d165}",
      "\u{1d16d}",
      "\u{16ff0}",
      "\u{11938}",
      "\u{105c9}",
      "\u20dd",
    ),
    weight: 3,
  },
  { arbitrary: codePointIn(0x20, 0x7e), weight: 4 }, // ASCII
  { arbitrary: codePointIn(0x80, 0x24f), weight: 2 }, // Latin-1 and Latin Extended
  { arbitrary: codePointIn(0x370, 0x3ff), weight: 1 }, // Greek
  { arbitrary: codePointIn(0x0, 0xffff), weight: 4 }, // the BMP, lone surrogates included
  { arbitrary: codePointIn(0x10000, 0x1ffff), weight: 2 }, // supplementary multilingual plane
  { arbitrary: codePointIn(0x20000, 0x3ffff), weight: 1 }, // ideographic planes
  { arbitrary: codePointIn(0xe0000, 0x10ffff), weight: 1 }, // tags, variation selectors, private use
);

const randomText = fc.array(unit, { maxLength: 40 }).map((units) => units.join(""));

function codePoints(s: string): string {
  return [...s].map((c) => (c.codePointAt(0) as number).toString(16)).join(" ");
}

// Normalization differences seldom change ids (an unknown character is [UNK] either way), so the
// normalized text itself is compared too.
test("random strings normalize as the reference's BertNormalizer does", () => {
  const reference = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
  const options = { lowercase: true, stripAccents: true, handleChineseChars: true };
  fc.assert(
    fc.property(randomText, (text) => {
      const expected = reference.normalizeString(text);
      const actual = normalize(text, options);
      if (actual !== expected) {
        throw new Error(`normalized texts differ for ${JSON.stringify(text)} [${codePoints(text)}]\n  ours      [${codePoints(actual)}]\n  reference [${codePoints(expected)}]`);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

describe.each(Object.entries(VOCABS))("%s vocabulary", (_name, vocabPath) => {
  const ours = ourTokenizer(vocabPath);
  const references = new Map<number, Tokenizer>([512, 16].map((n) => [n, referenceTokenizer(vocabPath, n)]));

  test.each([512, 16])("random strings give the reference's ids at maxLength %i", async (maxLength) => {
    const reference = references.get(maxLength) as Tokenizer;
    await fc.assert(
      fc.asyncProperty(randomText, async (text) => {
        const expected = (await reference.encode(text)).getIds();
        const actual = ours.encode(text, { maxLength }).ids;
        if (actual.join() !== expected.join()) {
          throw new Error(`ids differ for ${JSON.stringify(text)} [${codePoints(text)}]\n  ours      ${actual}\n  reference ${expected}`);
        }
      }),
      { seed: SEED + maxLength, numRuns: RUNS },
    );
  });
});
