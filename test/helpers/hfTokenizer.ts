// The tokenizer reference: Hugging Face's Rust `tokenizers` (dev dependency only),
// configured exactly as the Hub's BertTokenizerFast for an uncased WordPiece vocabulary.
import { readFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";

const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** The tokenizer.json that `BertTokenizerFast.from_pretrained` builds for vocab.txt (do_lower_case, strip_accents unset). */
export function bertTokenizerJson(vocabPath: string, maxLength?: number): string {
  const tokens = readFileSync(vocabPath, "utf8").split("\n");
  if (tokens[tokens.length - 1] === "") tokens.pop();
  // A Map, not an object: tokens such as "constructor" must not hit Object.prototype. A token listed
  // twice keeps its last line, as transformers' load_vocab (the source of the Hub's tokenizer.json) does.
  const index = new Map<string, number>();
  tokens.forEach((t, i) => index.set(t, i));
  const vocab = Object.fromEntries(index);
  const id = (t: string): number => {
    const v = index.get(t);
    if (v === undefined) throw new Error(`${vocabPath}: special token ${t} missing`);
    return v;
  };
  return JSON.stringify({
    version: "1.0",
    truncation: maxLength === undefined ? null : { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  });
}

export function referenceTokenizer(vocabPath: string, maxLength?: number): Tokenizer {
  return Tokenizer.fromString(bertTokenizerJson(vocabPath, maxLength));
}

/** Reference ids for one text, `[CLS] … [SEP]`, truncated to maxLength. */
export async function referenceIds(tokenizer: Tokenizer, text: string): Promise<number[]> {
  return (await tokenizer.encode(text)).getIds();
}

/** SciBERT's scivocab (uncased), the vocabulary of SPECTER2: a copy in the repository (test/fixtures/vocab). */
export const SCIVOCAB = `${__dirname}/../fixtures/vocab/scivocab_uncased/vocab.txt`;
