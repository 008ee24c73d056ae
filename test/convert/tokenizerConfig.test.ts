// tokenizer_config.json normalization. Expected values follow transformers' BertTokenizer: its defaults,
// special_tokens_map.json overriding tokenizer_config.json, AddedToken objects carrying "content".
import type { TokenizerSources } from "../../src/weights/hub/tokenizerConfig";
import { normalizeTokenizerConfig, parseVocab } from "../../src/weights/hub/tokenizerConfig";

const VOCAB = new Set(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "the"]);

function sources(tokenizerConfig: Record<string, unknown> | undefined, specialTokensMap?: Record<string, unknown>, maxPositionEmbeddings = 512): TokenizerSources {
  return {
    tokenizerConfig,
    specialTokensMap,
    tokenizerConfigFile: "/hub/tokenizer_config.json",
    specialTokensMapFile: "/hub/special_tokens_map.json",
    vocab: VOCAB,
    vocabFile: "/hub/vocab.txt",
    maxPositionEmbeddings,
  };
}

const DEFAULTS = {
  do_lower_case: true,
  strip_accents: null,
  tokenize_chinese_chars: true,
  model_max_length: 512,
  unk_token: "[UNK]",
  sep_token: "[SEP]",
  pad_token: "[PAD]",
  cls_token: "[CLS]",
  mask_token: "[MASK]",
};

describe("normalizeTokenizerConfig", () => {
  it("uses BertTokenizer's defaults when the snapshot has no tokenizer files", () => {
    expect(normalizeTokenizerConfig(sources(undefined))).toEqual(DEFAULTS);
  });

  it.each([
    [1e30, 512, 512], // SPECTER2's "no limit"
    [undefined, 512, 512],
    [null, 512, 512],
    [128, 512, 128],
    [512, 64, 64], // never beyond the model's positions
  ])("model_max_length %p with %p positions → %p", (given, positions, expected) => {
    expect(normalizeTokenizerConfig(sources({ model_max_length: given }, undefined, positions)).model_max_length).toBe(expected);
  });

  it("keeps explicit casing and accent settings", () => {
    const got = normalizeTokenizerConfig(sources({ do_lower_case: false, strip_accents: false, tokenize_chinese_chars: false }));
    expect(got).toEqual({ ...DEFAULTS, do_lower_case: false, strip_accents: false, tokenize_chinese_chars: false });
  });

  it("takes special tokens from strings or AddedToken objects, special_tokens_map.json winning", () => {
    const got = normalizeTokenizerConfig(sources({ cls_token: { __type: "AddedToken", content: "the", lstrip: false }, sep_token: "the" }, { sep_token: { content: "<s>" } }));
    expect(got).toEqual({ ...DEFAULTS, cls_token: "the", sep_token: "<s>" });
  });

  it.each([
    [{ strip_accents: "yes" }, '/hub/tokenizer_config.json: "strip_accents" is "yes", expected true, false or null'],
    [{ do_lower_case: 1 }, '/hub/tokenizer_config.json: "do_lower_case" is 1, expected true or false'],
    [{ model_max_length: -5 }, '/hub/tokenizer_config.json: "model_max_length" is -5, expected a positive number'],
    [{ do_basic_tokenize: false }, "/hub/tokenizer_config.json: do_basic_tokenize false is not supported"],
    [{ unk_token: ["[UNK]"] }, '/hub/tokenizer_config.json: "unk_token" is ["[UNK]"], expected a token string'],
    [{ pad_token: "<pad>" }, '/hub/vocab.txt: the pad_token "<pad>" is not in the vocabulary'],
  ])("refuses %j", (config, message) => {
    expect(() => normalizeTokenizerConfig(sources(config))).toThrow(message);
  });
});

describe("parseVocab", () => {
  it("reads one token per line as BertTokenizer does (Python's universal newlines; spaces kept)", () => {
    expect(parseVocab("[PAD]\n a \n##b\r\nc\rd\n\n", "v")).toEqual(["[PAD]", " a ", "##b", "c", "d", ""]);
  });

  it("refuses an empty file", () => {
    expect(() => parseVocab("", "/hub/vocab.txt")).toThrow("/hub/vocab.txt is empty");
  });
});
