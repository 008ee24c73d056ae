// tokenizer_config.json parsing and the model-directory loader.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BertTokenizer, UNCASED_BERT, parseTokenizerConfig } from "../../src/tokenizer";
import { loadTokenizer } from "../../src/node/modelDirectory";
import { SMALL_VOCAB } from "../fixtures/tokenizer/tokenizers";

const FIXTURE_DIR = join(__dirname, "..", "fixtures/tokenizer");

describe("parseTokenizerConfig", () => {
  test("allenai/specter2_base's config is uncased BERT; model_max_length is ignored", () => {
    const config = JSON.parse(readFileSync(join(FIXTURE_DIR, "tokenizer_config.json"), "utf8"));
    expect(config.model_max_length).toBeGreaterThan(1e29);
    expect(parseTokenizerConfig(config, "c.json")).toEqual(UNCASED_BERT);
  });

  test("missing keys take BertTokenizer's defaults", () => {
    expect(parseTokenizerConfig({}, "c.json")).toEqual(UNCASED_BERT);
  });

  test("options and special tokens, as strings or AddedToken objects", () => {
    const options = parseTokenizerConfig(
      {
        do_lower_case: false,
        strip_accents: true,
        tokenize_chinese_chars: false,
        sep_token: { __type: "AddedToken", content: "</s>", lstrip: false },
        cls_token: "<s>",
      },
      "c.json",
    );
    expect(options).toEqual({
      lowercase: false,
      stripAccents: true,
      handleChineseChars: false,
      specialTokens: { ...UNCASED_BERT.specialTokens, sep: "</s>", cls: "<s>" },
    });
  });

  test.each([
    [[], "m/c.json: expected a JSON object"],
    [{ do_lower_case: "yes" }, 'm/c.json: "do_lower_case" must be true or false, got "yes"'],
    [{ strip_accents: 1 }, 'm/c.json: "strip_accents" must be true, false or null, got 1'],
    [{ tokenize_chinese_chars: null, sep_token: 5 }, 'm/c.json: "sep_token" must be a non-empty string or {"content": string}, got 5'],
    [{ unk_token: { content: "" } }, 'm/c.json: "unk_token" must be a non-empty string'],
  ])("%j is refused", (config, message) => {
    expect(() => parseTokenizerConfig(config, "m/c.json")).toThrow(message);
  });
});

describe("loadTokenizer", () => {
  const expected = BertTokenizer.fromVocab(readFileSync(SMALL_VOCAB, "utf8")).encode("The protein [SEP] folding").ids;

  test("reads vocab.txt and tokenizer_config.json from a model directory", () => {
    expect(loadTokenizer(FIXTURE_DIR).encode("The protein [SEP] folding").ids).toEqual(expected);
  });

  test("without tokenizer_config.json it is uncased BERT", () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    copyFileSync(SMALL_VOCAB, join(dir, "vocab.txt"));
    const loaded = loadTokenizer(dir);
    expect(loaded.options).toEqual(UNCASED_BERT);
    expect(loaded.encode("The protein [SEP] folding").ids).toEqual(expected);
  });

  test("a config's special tokens must be in the vocabulary", () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    copyFileSync(SMALL_VOCAB, join(dir, "vocab.txt"));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ sep_token: "</s>" }));
    expect(() => loadTokenizer(dir)).toThrow(`${join(dir, "vocab.txt")}: special token "</s>" is not in the vocabulary`);
  });

  test("a missing vocab.txt and a malformed config are errors naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    expect(() => loadTokenizer(dir)).toThrow(`${join(dir, "vocab.txt")}: cannot read the tokenizer vocabulary (ENOENT)`);
    copyFileSync(SMALL_VOCAB, join(dir, "vocab.txt"));
    writeFileSync(join(dir, "tokenizer_config.json"), "{ not json");
    expect(() => loadTokenizer(dir)).toThrow(`${join(dir, "tokenizer_config.json")}: malformed JSON`);
  });
});
