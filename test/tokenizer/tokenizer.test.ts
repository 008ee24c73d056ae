// BertTokenizer on our small vocabulary: hand-written expectations, each also checked against the
// reference (Hugging Face's Rust tokenizers), so a wrong expectation cannot pass unnoticed.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "tokenizers";
import { BertTokenizer, UNCASED_BERT, formatPaper } from "../../src/tokenizer";
import { splitOnSpecialTokens } from "../../src/tokenizer/specialTokens";
import { bertTokenizerJson, referenceTokenizer } from "../helpers/hfTokenizer";
import { SMALL_VOCAB, ourTokenizer, referenceIdsOf } from "../fixtures/tokenizer/tokenizers";

const tokenizer = ourTokenizer(SMALL_VOCAB);

describe("encode", () => {
  const CASES: Array<[string, string]> = [
    ["unaffable", "[CLS] un ##aff ##able [SEP]"],
    ["The protein folding.", "[CLS] the protein fold ##ing . [SEP]"],
    ["Café NAÏVE ÅNGSTRÖM İstanbul", "[CLS] cafe naive angstrom istanbul [SEP]"],
    ["cafe\u0301 nai\u0308ve", "[CLS] cafe naive [SEP]"],
    ["[SEP][sep][Sep]", "[CLS] [SEP] [ sep ] [ sep ] [SEP]"],
    ["[SEPT] [ SEP]", "[CLS] [ sep ##t ] [ sep ] [SEP]"],
    ["x[MASK]y [CLS][PAD][UNK]", "[CLS] x [MASK] y [CLS] [PAD] [UNK] [SEP]"],
    ["中文", "[CLS] 中 文 [SEP]"],
    ["ΣΣ σς", "[CLS] σ ##σ [UNK] [SEP]"],
    ["constructor toString", "[CLS] constructor to ##string [SEP]"],
    ["e=mc²", "[CLS] e = [UNK] [SEP]"],
    ["🧬🧬", "[CLS] 🧬 ##🧬 [SEP]"],
    ["\u0000\u200b\t\u00a0", "[CLS] [SEP]"],
    ["", "[CLS] [SEP]"],
    ["a".repeat(101), "[CLS] [UNK] [SEP]"],
    ["🧬".repeat(101), "[CLS] [UNK] [SEP]"],
    ["🧬".repeat(100), `[CLS] 🧬 ${"##🧬 ".repeat(99)}[SEP]`],
  ];

  test.each(CASES)("%j → %s", async (text, expected) => {
    const { ids, tokens } = tokenizer.encode(text);
    expect(tokens.join(" ")).toBe(expected);
    const reference = await referenceTokenizer(SMALL_VOCAB).encode(text);
    expect(ids).toEqual(reference.getIds());
    expect(tokens).toEqual(reference.getTokens());
  });

  test("truncation keeps the final [SEP] and counts it in maxLength", () => {
    expect(tokenizer.encode("the protein folding of", { maxLength: 5 }).tokens).toEqual(["[CLS]", "the", "protein", "fold", "[SEP]"]);
    expect(tokenizer.encode("the protein", { maxLength: 2 }).tokens).toEqual(["[CLS]", "[SEP]"]);
    expect(tokenizer.encode("a [SEP] b", { maxLength: 4 }).tokens).toEqual(["[CLS]", "a", "[SEP]", "[SEP]"]);
  });

  test("the default maximum length is 512, whatever the text's length", () => {
    const ids = tokenizer.encode("the ".repeat(2000)).ids;
    expect(ids.length).toBe(512);
    expect(ids[511]).toBe(tokenizer.specialIds.sep);
  });

  test.each([1, 0, -5, 2.5, NaN])("maxLength %p is refused", (maxLength) => {
    expect(() => tokenizer.encode("the", { maxLength })).toThrow(/maxLength must be an integer of at least 2/);
  });

  test("special ids and size come from the vocabulary file", () => {
    // Our fixture puts them at unusual ids: [PAD] 0, [UNK] 5, [CLS] 6, [SEP] 7, [MASK] 8.
    expect(tokenizer.specialIds).toEqual({ pad: 0, unk: 5, cls: 6, sep: 7, mask: 8 });
    expect(tokenizer.vocabSize).toBe(readFileSync(SMALL_VOCAB, "utf8").trimEnd().split("\n").length);
  });
});

describe("special tokens in the text", () => {
  test("are matched leftmost first, then longest", () => {
    const specials = new Map([
      ["ab", 1],
      ["abc", 2],
      ["bcd", 3],
    ]);
    expect(splitOnSpecialTokens("xabcdab", specials)).toEqual([{ text: "x" }, { text: "abc", specialId: 2 }, { text: "d" }, { text: "ab", specialId: 1 }]);
  });

  test("thousands of them in one text give the reference's ids", async () => {
    const text = "[SEP] the [CLS]protein[MASK]".repeat(3000);
    const maxLength = 100_000;
    expect(tokenizer.encode(text, { maxLength }).ids).toEqual((await referenceIdsOf(SMALL_VOCAB, [text], maxLength))[0]);
  });

  test("an empty special token is refused", () => {
    const options = { ...UNCASED_BERT, specialTokens: { ...UNCASED_BERT.specialTokens, mask: "" } };
    expect(() => BertTokenizer.fromVocab(readFileSync(SMALL_VOCAB, "utf8"), options, "v.txt")).toThrow("v.txt: a special token is the empty string");
  });
});

describe("encodeBatch", () => {
  const texts = ["the protein", "", "unaffable [SEP] 中文 🧬", "the ".repeat(30)];

  test.each([512, 8])("ids and mask equal the reference's padded batch (maxLength %i)", async (maxLength) => {
    const reference = referenceTokenizer(SMALL_VOCAB, maxLength);
    reference.setPadding({ padId: tokenizer.specialIds.pad, padToken: "[PAD]" });
    const expected = await reference.encodeBatch(texts);
    const batch = tokenizer.encodeBatch(texts, { maxLength });
    const seqLength = expected[0].getIds().length;
    expect(batch.batchSize).toBe(texts.length);
    expect(batch.seqLength).toBe(seqLength);
    expect(Array.from(batch.ids)).toEqual(expected.flatMap((e) => e.getIds()));
    expect(Array.from(batch.attentionMask)).toEqual(expected.flatMap((e) => e.getAttentionMask()));
    expect(batch.lengths).toEqual(expected.map((e) => e.getAttentionMask().filter((m) => m === 1).length));
  });

  test("pads to the longest sequence of the batch, not to maxLength", () => {
    const batch = tokenizer.encodeBatch(["the", "the protein"]);
    expect(batch.seqLength).toBe(4);
    expect(Array.from(batch.ids)).toEqual([6, 1, 7, 0, 6, 1, 16, 7]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
  });

  test("an empty batch is empty", () => {
    expect(tokenizer.encodeBatch([])).toEqual({ ids: new Int32Array(0), attentionMask: new Int32Array(0), batchSize: 0, seqLength: 0, lengths: [] });
  });
});

describe("vocabulary", () => {
  const dir = mkdtempSync(join(tmpdir(), "vocab-"));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const SPECIALS = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";

  test("a token listed twice takes its last line, as Hugging Face's loaders do", async () => {
    const path = write("dup.txt", `${SPECIALS}the\nprotein\nthe\n`);
    const ours = ourTokenizer(path).encode("the protein").ids;
    expect(ours).toEqual([2, 7, 6, 3]);
    expect(ours).toEqual((await referenceIdsOf(path, ["the protein"], 512))[0]);
  });

  test("CRLF line ends read like LF", () => {
    const crlf = BertTokenizer.fromVocab(`${SPECIALS}the\r\nprotein\r\n`.replace(/\n/g, "\r\n").replace(/\r\r/g, "\r"));
    expect(crlf.encode("the protein").tokens).toEqual(["[CLS]", "the", "protein", "[SEP]"]);
  });

  test("a missing special token and an empty file are errors naming the file", () => {
    expect(() => BertTokenizer.fromVocab("[PAD]\n[UNK]\n[CLS]\n[MASK]\n", undefined, "m/vocab.txt")).toThrow('m/vocab.txt: special token "[SEP]" is not in the vocabulary');
    expect(() => BertTokenizer.fromVocab("", undefined, "m/vocab.txt")).toThrow("m/vocab.txt: empty vocabulary");
  });
});

describe("cased options", () => {
  test("do_lower_case false keeps case and accents, as the cased reference does", async () => {
    const json = JSON.parse(bertTokenizerJson(SMALL_VOCAB));
    json.normalizer.lowercase = false;
    const reference = Tokenizer.fromString(JSON.stringify(json));
    const cased = BertTokenizer.fromVocab(readFileSync(SMALL_VOCAB, "utf8"), { ...tokenizer.options, lowercase: false });
    for (const text of ["The protein", "the protein", "Café ΣΑΣ İ", "[SEP] [sep]"]) {
      expect(cased.encode(text).ids).toEqual((await reference.encode(text)).getIds());
    }
    expect(cased.encode("The protein").tokens).toEqual(["[CLS]", "[UNK]", "protein", "[SEP]"]);
  });
});

describe("formatPaper", () => {
  test.each([
    ["A title", "An abstract.", "A title[SEP]An abstract."],
    ["A title", null, "A title[SEP]"],
    ["A title", undefined, "A title[SEP]"],
    ["A title", "", "A title[SEP]"],
    ["", "Only an abstract.", "[SEP]Only an abstract."],
  ])("%j + %j → %j", (title, abstract, expected) => {
    expect(formatPaper(title, abstract)).toBe(expected);
  });

  test("takes the tokenizer's separator", () => {
    expect(formatPaper("T", "A", "</s>")).toBe("T</s>A");
  });
});
