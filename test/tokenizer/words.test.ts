// The chunked word split (forEachWord in src/tokenizer/preTokenizer.ts) that lets a long text be tokenized only as far as
// truncation needs: it gives exactly the words of preTokenize(normalize(text)), and the tokenizer built
// on it exactly the reference's ids, on random texts with cuts everywhere (tiny chunks) and on
// adversarial megabyte texts; the Unicode facts its cuts rest on hold for every code point.
import fc from "fast-check";
import { bertNormalizer } from "tokenizers";
import { charFlags, lowercase, normalize, PUNCTUATION_CHAR, REMOVED_CHAR, WHITESPACE_CHAR, type NormalizerOptions } from "../../src/tokenizer/normalizer";
import { FIRST_CHUNK, forEachWord, preTokenize, separatesWords, startsWithStarter } from "../../src/tokenizer/preTokenizer";
import { boundedSegmentsOf, SEGMENT_WINDOW, splitOnSpecialTokens, type Segment } from "../../src/tokenizer/specialTokens";
import { MAX_INPUT_CHARS_PER_WORD } from "../../src/tokenizer/wordPiece";
import { VOCABS, describeMismatches, ourTokenizer, referenceIdsOf } from "../fixtures/tokenizer/tokenizers";

const SEED = 20240420;
const LAST_CODE_POINT = 0x10ffff;

const UNCASED: NormalizerOptions = { lowercase: true, stripAccents: true, handleChineseChars: true };
const OPTION_SETS: NormalizerOptions[] = [
  UNCASED, // SPECTER2
  { lowercase: true, stripAccents: false, handleChineseChars: true },
  { lowercase: false, stripAccents: true, handleChineseChars: false },
  { lowercase: false, stripAccents: false, handleChineseChars: false }, // cased BERT
];

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
const codePoints = (s: string): string => [...s].map((c) => hex(c.codePointAt(0) as number)).join(" ");
const countCodePoints = (s: string): number => [...s].length;
const isSeparator = (c: string): boolean => (charFlags(c.codePointAt(0) as number) & (WHITESPACE_CHAR | PUNCTUATION_CHAR)) !== 0;

/** Words as WordPiece sees them: one over the length limit is [UNK] whatever it holds. */
const asPieces = (words: readonly string[]): string[] => words.map((w) => (countCodePoints(w) > MAX_INPUT_CHARS_PER_WORD ? "<overlong>" : w));

/** Chunks of `chunk` units (where a clean cut allows), so that short texts hold many cuts. */
function chunkedWords(text: string, options: NormalizerOptions, chunk: number, limit = Infinity): string[] {
  const words: string[] = [];
  forEachWord(text, options, (w) => (words.push(w), words.length < limit), chunk, chunk);
  return words;
}

function allCodePoints(): number[] {
  const all: number[] = [];
  for (let cp = 0; cp <= LAST_CODE_POINT; cp++) all.push(cp);
  return all;
}

describe("the Unicode facts the cuts rest on, for every code point", () => {
  it("a decomposition that starts with a non-starter holds only non-starters (dropping one merges no runs)", () => {
    const bad = allCodePoints().filter((cp) => {
      if (charFlags(cp) & REMOVED_CHAR || startsWithStarter(cp, UNCASED)) return false;
      return [...String.fromCodePoint(cp).normalize("NFD")].some((c) => startsWithStarter(c.codePointAt(0) as number, UNCASED));
    });
    expect(bad.map(hex)).toEqual([]);
  });

  it("spaces and punctuation, before or after lowercasing, are starters (NFD never moves a word boundary)", () => {
    const bad = allCodePoints().filter((cp) => {
      if (charFlags(cp) & REMOVED_CHAR) return false;
      const c = String.fromCodePoint(cp);
      return (isSeparator(c) || [...lowercase(c)].some(isSeparator)) && !startsWithStarter(cp, UNCASED);
    });
    expect(bad.map(hex)).toEqual([]);
  });

  // The reference itself, on every code point, with neighbours whose reordering would show: U+1D16D
  // (class 226) and U+1D165 (216) are combining marks that strip_accents keeps.
  const reference = bertNormalizer({ cleanText: true, ...UNCASED });
  const BEFORE = "a\u{1d16d}";
  const AFTER = "\u{1d165}";
  /** The reference's normalization of each of `texts`, batched; "|" (kept as is, a starter) between them. */
  function referenceEach(texts: string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < texts.length; i += 8192) out.push(...reference.normalizeString(texts.slice(i, i + 8192).join("|")).split("|"));
    return out;
  }

  it("a cut before a code point classed a clean cut changes nothing in the reference's normalization", () => {
    const cps = allCodePoints().filter((cp) => cp !== 0x7c && !(charFlags(cp) & REMOVED_CHAR) && startsWithStarter(cp, UNCASED));
    const joined = referenceEach(cps.map((cp) => BEFORE + String.fromCodePoint(cp) + AFTER));
    const right = referenceEach(cps.map((cp) => String.fromCodePoint(cp) + AFTER));
    const left = reference.normalizeString(BEFORE);
    const bad = cps.filter((_, i) => joined[i] !== left + right[i]);
    expect(bad.map(hex)).toEqual([]);
    expect(cps.length).toBeGreaterThan(900_000);
  });

  it("a non-starter that normalizes to nothing can be dropped without changing the reference's normalization", () => {
    const cps = allCodePoints().filter((cp) => !(charFlags(cp) & REMOVED_CHAR) && !startsWithStarter(cp, UNCASED) && normalize(String.fromCodePoint(cp), UNCASED) === "");
    const joined = referenceEach(cps.map((cp) => BEFORE + String.fromCodePoint(cp) + AFTER));
    const without = reference.normalizeString(BEFORE + AFTER);
    expect(cps.filter((_, i) => joined[i] !== without).map(hex)).toEqual([]);
    expect(cps.length).toBeGreaterThan(500); // the combining marks, e.g. U+0301
  });
});

const codePointIn = (min: number, max: number): fc.Arbitrary<string> => fc.integer({ min, max }).map((cp) => String.fromCodePoint(cp));

/** Pieces of adversarial text: what could join or reorder across a cut, and runs of it. */
const unit: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("protein", "un", "aff", "able", "the", "of", "cafe", "İ", "ß", "Σ", "中", "文", "\uf900", "🧬", "한", "ภาษา"), weight: 4 },
  { arbitrary: fc.constantFrom(" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u000b", "\u000c", "\u0085"), weight: 4 },
  { arbitrary: fc.constantFrom("\u0000", "\u0001", "\u007f", "\u200b", "\u200d", "\u00ad", "\ufeff", "\ufffd", "\ud800", "\udc00", "\u{e0001}"), weight: 3 },
  // Marks of many combining classes (some kept by strip_accents, some newer than the reference's
  // tables), and characters that decompose into marks or start with one.
  {
    arbitrary: fc.constantFrom(
      "\u0301",
      "\u0316",
      "\u0327",
      "\u0334",
      "\u0344",
      "\u0345",
      "\u05b0",
      "\u0e38",
      "\u0f73",
      "\u0f71",
      "\u3099",
      "\u0897",
      "\u{1d165}",
      "\u{1d16d}",
      "\u{16ff0}",
      "\u{1e4ef}",
      "\u20dd",
      "e\u0301",
      "é",
      "\u1e09",
      "\u01d5",
    ),
    weight: 5,
  },
  // Kept marks out of their combining-class order (U+1D16D: 226, U+1D165: 216, U+16FF0: 6), with what
  // may sit between them: NFD reorders them visibly, so a wrong cut between them shows.
  {
    arbitrary: fc.constantFrom("\u{1d16d}\u{1d165}", "\u{1d16d}\u0301\u{1d165}", "\u{1d16d}\u0000\u{1d165}", "\u{1d165}\u{16ff0}", "\u{1d16d}\u0f73\u{16ff0}", "e\u{1d16d}\u0344\u{1d165}"),
    weight: 3,
  },
  { arbitrary: fc.constantFrom(".", ",", "-", "(", ")", "[", "]", "##", "\u037e", "\u0387", "\u1fef", "\u00b7", "\u3002", "\uff0c"), weight: 3 },
  { arbitrary: codePointIn(0x20, 0x7e), weight: 4 },
  { arbitrary: codePointIn(0x0, 0xffff), weight: 3 },
  { arbitrary: codePointIn(0x10000, 0x10ffff), weight: 1 },
);
/** A unit or a run of one (a long word, a whitespace run, a pile of marks). */
const piece = fc.oneof({ arbitrary: unit, weight: 5 }, { arbitrary: fc.tuple(unit, fc.integer({ min: 2, max: 150 })).map(([u, n]) => u.repeat(n)), weight: 1 });
const randomText = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(""));

describe("forEachWord gives preTokenize(normalize(text))'s words", () => {
  test.each(OPTION_SETS)("random texts cut into chunks as small as 1 unit: %o", (options) => {
    fc.assert(
      fc.property(randomText, fc.constantFrom(1, 2, 3, 5, 8, 13, 64), (text, chunk) => {
        const expected = asPieces(preTokenize(normalize(text, options)));
        const actual = asPieces(chunkedWords(text, options, chunk));
        if (actual.join("\u0000") !== expected.join("\u0000")) {
          throw new Error(`words differ for ${JSON.stringify(text)} [${codePoints(text)}], chunks of ${chunk}\n  ours     ${JSON.stringify(actual)}\n  expected ${JSON.stringify(expected)}`);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it("stops when told to, with the same first words", () => {
    fc.assert(
      fc.property(randomText, fc.integer({ min: 1, max: 20 }), (text, limit) => {
        const expected = asPieces(preTokenize(normalize(text, UNCASED)).slice(0, limit));
        expect(asPieces(chunkedWords(text, UNCASED, 2, limit))).toEqual(expected);
      }),
      { seed: SEED + 1, numRuns: 1000 },
    );
  });

  it("a word of exactly 100 code points across a cut stays itself, one of 101 is overlong", () => {
    for (const [letter, at] of [
      ["a", 7],
      ["🧬", 5],
      ["e\u0301", 3],
    ] as const) {
      for (const n of [100, 101]) {
        const text = "x ".repeat(at) + letter.repeat(n) + " y";
        expect(asPieces(chunkedWords(text, UNCASED, 4))).toEqual(asPieces(preTokenize(normalize(text, UNCASED))));
      }
    }
  });
});

describe("boundedSegmentsOf: special tokens searched only as far as the text is read", () => {
  const specials = new Map([
    ["[SEP]", 1],
    ["[CLS]", 2],
    ["[MASK]", 3],
    ["[SEP]]", 4], // longer than another at the same place: the longest wins
  ]);
  const special = fc.constantFrom("[SEP]", "[CLS]", "[MASK]", "[SEP]]", "[SE", "P]", "[");
  const withSpecials = fc.array(fc.oneof({ arbitrary: piece, weight: 4 }, { arbitrary: special, weight: 1 }), { maxLength: 30 }).map((p) => p.join(""));

  test.each(OPTION_SETS)("the same special tokens, plain text cut only where its words part: %o", (options) => {
    fc.assert(
      fc.property(withSpecials, fc.constantFrom(0, 1, 2, 3, 5, 8, 64), (text, window) => {
        const whole = splitOnSpecialTokens(text, specials);
        const pieces = [...boundedSegmentsOf(text, specials, (cp) => separatesWords(cp, options), window)];
        // Joined again between the special tokens, the pieces are the segments.
        const joined: Segment[] = [];
        for (const p of pieces) {
          const last = joined[joined.length - 1];
          if (p.specialId === undefined && last && last.specialId === undefined) joined[joined.length - 1] = { text: last.text + p.text };
          else joined.push({ ...p });
        }
        expect(joined).toEqual(whole);
        // Each plain piece's words, one piece after another, are the whole segment's.
        const words = (segments: Segment[]) => segments.flatMap((seg) => (seg.specialId !== undefined ? [`<${seg.specialId}>`] : asPieces(chunkedWords(seg.text, options, 3))));
        expect(words(pieces)).toEqual(words(whole));
      }),
      { seed: SEED + 3, numRuns: 2000 },
    );
  });
});

describe("ids equal the reference's (full encode, then truncation)", () => {
  const MAX_LENGTHS = [16, 128, 512];

  /** Random texts long enough to cross the first cuts (FIRST_CHUNK units, then twice that, …). */
  function longTexts(n: number, seed: number): string[] {
    return fc.sample(
      fc.array(piece, { minLength: 50, maxLength: 400 }).map((pieces) => pieces.join("")),
      { seed, numRuns: n },
    );
  }

  /** Texts whose interesting part lands just around a cut: a filler of `at` units, then the part. */
  function aroundTheCut(): string[] {
    const parts = [
      "e\u0301\u{1d16d}\u{1d165}",
      "\u{1d16d}\u0000\u0301\u{1d165}",
      "中文中",
      "🧬🧬",
      "word" + "\u0301".repeat(40),
      " \u00a0\u3000x",
      "[SEP]ab",
      "ab" + "c".repeat(98) + " ",
      "a".repeat(101),
    ];
    const texts: string[] = [];
    for (const cut of [FIRST_CHUNK, 3 * FIRST_CHUNK]) {
      for (let at = cut - 6; at <= cut + 6; at++) for (const part of parts) texts.push("x ".repeat(at >> 1) + "y".repeat(at & 1) + part + " tail words ".repeat(200));
    }
    return texts;
  }

  /** Megabyte texts: a 1.9 MiB CJK paper (the issue's), one giant word, a pile of marks, floods of control
   *  characters, whitespace and special tokens, and each followed by words that count. */
  function megabyteTexts(): string[] {
    const n = 250_000;
    const tail = " the protein folding result 中文 🧬 café";
    return [
      "中文的科学论文摘要研究".repeat(Math.floor((1.9 * 2 ** 20) / 3 / 11)),
      "中文的科学论文摘要研究。".repeat(n / 12) + tail,
      "a" + "\u0301".repeat(n) + "b" + tail,
      "a" + "\u0301\u{1d165}".repeat(n / 3) + tail,
      "\u0301".repeat(n) + tail,
      "\u0001".repeat(n) + "\u0301" + tail,
      "\u0001".repeat(n) + tail,
      " ".repeat(n) + tail,
      "\u00a0\u3000\t\n".repeat(n / 4) + tail,
      "🧬".repeat(n / 2) + tail,
      "ภาษาไทยไม่มีช่องว่าง".repeat(n / 20) + tail,
      "é".repeat(n) + tail,
      "[SEP]".repeat(n / 5) + tail,
      "x".repeat(n) + "\u037e" + tail,
      ("word ".repeat(50) + "\u0000\u0301 ").repeat(n / 260),
      // Special tokens just around where the search for them stops (SEGMENT_WINDOW units on).
      ...[-7, -5, -1, 0, 1, 3].map((d) => "y".repeat(SEGMENT_WINDOW + d) + "[SEP]" + "中 [MASK] word ".repeat(n / 16)),
      "x".repeat(SEGMENT_WINDOW + 2) + " [SEP] " + "ab[CLS]cd ".repeat(n / 10),
    ];
  }

  describe.each(Object.entries(VOCABS))("%s vocabulary", (_name, vocabPath) => {
    const tokenizer = ourTokenizer(vocabPath);
    const cases: Array<[string, () => string[]]> = [
      ["random long texts", () => longTexts(300, SEED + 2)],
      ["texts with their tricky part just around a cut", aroundTheCut],
      ["adversarial megabyte texts", megabyteTexts],
    ];
    test.each(cases)("%s", async (_what, make) => {
      const texts = make();
      for (const maxLength of MAX_LENGTHS) {
        const reference = await referenceIdsOf(vocabPath, texts, maxLength);
        const ours = texts.map((t) => tokenizer.encode(t, { maxLength }).ids);
        expect(describeMismatches(texts, ours, reference)).toBe("");
      }
    });
  });
});

it("a 1.9 MiB CJK text is tokenized in a small fraction of the time normalizing it whole takes", () => {
  const tokenizer = ourTokenizer(VOCABS.scivocab);
  const text = "中文的科学论文摘要研究".repeat(Math.floor((1.9 * 2 ** 20) / 3 / 11));
  const best = (f: () => void) => {
    let min = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      f();
      min = Math.min(min, performance.now() - t0);
    }
    return min;
  };
  const whole = best(() => preTokenize(normalize(text, UNCASED)));
  const encode = best(() => tokenizer.encode(text, { maxLength: 512 }));
  // We measure ~200 ms for the whole text and ~3 ms to encode (a scan for special tokens is all that
  // still reads the whole text); a tenth leaves room for a loaded machine.
  expect(encode).toBeLessThan(whole / 10);
});
