// Every corpus string gives the reference's ids (Hugging Face's Rust tokenizers), with the real
// SciBERT vocabulary and our small one, untruncated (512) and truncated (16).
import { tokenizerCorpus } from "../fixtures/tokenizer/corpus";
import { VOCABS, describeMismatches, ourTokenizer, referenceIdsOf } from "../fixtures/tokenizer/tokenizers";

const corpus = tokenizerCorpus();

test("the corpus holds at least 2,000 distinct strings, some far beyond 512 tokens", () => {
  expect(new Set(corpus).size).toBeGreaterThanOrEqual(2000);
  expect(Math.max(...corpus.map((t) => t.length))).toBeGreaterThan(10_000);
});

describe.each(Object.entries(VOCABS))("%s vocabulary", (_name, vocabPath) => {
  const tokenizer = ourTokenizer(vocabPath);
  test.each([512, 16])("ids equal the reference's at maxLength %i", async (maxLength) => {
    const reference = await referenceIdsOf(vocabPath, corpus, maxLength);
    const ours = corpus.map((text) => tokenizer.encode(text, { maxLength }).ids);
    expect(describeMismatches(corpus, ours, reference)).toBe("");
    // The comparison above is not vacuous: truncation and [UNK] both happen.
    expect(ours.some((ids) => ids.length === maxLength)).toBe(true);
    expect(ours.some((ids) => ids.includes(tokenizer.specialIds.unk))).toBe(true);
  });
});
