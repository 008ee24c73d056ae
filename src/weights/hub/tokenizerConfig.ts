// Hub tokenizer_config.json (+ special_tokens_map.json) → our normalized tokenizer settings.
// Defaults are BertTokenizer's; special_tokens_map.json overrides tokenizer_config.json as in transformers.
import type { TokenizerConfigFile } from "../modelDir";
import type { Json } from "./jsonFields";
import { boolean } from "./jsonFields";
import { Specter2Error } from "../../errors";

/**
 * Every reference usage of SPECTER2 passes max_length=512 and the Hub file says ~1e30 ("no limit"),
 * so the stored limit is 512 at most, and never more than the model has positions for.
 */
export const MAX_MODEL_LENGTH = 512;

const SPECIAL_TOKENS = {
  unk_token: "[UNK]",
  sep_token: "[SEP]",
  pad_token: "[PAD]",
  cls_token: "[CLS]",
  mask_token: "[MASK]",
} as const;

type SpecialToken = keyof typeof SPECIAL_TOKENS;

export interface TokenizerSources {
  /** tokenizer_config.json and special_tokens_map.json, each absent when the snapshot lacks it. */
  tokenizerConfig: Json | undefined;
  specialTokensMap: Json | undefined;
  tokenizerConfigFile: string;
  specialTokensMapFile: string;
  vocab: ReadonlySet<string>;
  vocabFile: string;
  maxPositionEmbeddings: number;
}

export function normalizeTokenizerConfig(s: TokenizerSources): TokenizerConfigFile {
  const json = s.tokenizerConfig ?? {};
  const file = s.tokenizerConfigFile;
  if (json.do_basic_tokenize === false) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: do_basic_tokenize false is not supported (SPECTER2's BERT tokenizer splits words first)`, { file, field: "do_basic_tokenize" });
  }
  const stripAccents = json.strip_accents ?? null;
  if (stripAccents !== null && typeof stripAccents !== "boolean") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: "strip_accents" is ${JSON.stringify(stripAccents)}, expected true, false or null`, { file, field: "strip_accents" });
  }
  const normalized: TokenizerConfigFile = {
    do_lower_case: boolean(json, "do_lower_case", file, true),
    strip_accents: stripAccents,
    tokenize_chinese_chars: boolean(json, "tokenize_chinese_chars", file, true),
    model_max_length: Math.min(modelMaxLength(json, file), MAX_MODEL_LENGTH, s.maxPositionEmbeddings),
    ...SPECIAL_TOKENS,
  };
  for (const key of Object.keys(SPECIAL_TOKENS) as SpecialToken[]) {
    const fromMap = s.specialTokensMap && tokenContent(s.specialTokensMap[key], s.specialTokensMapFile, key);
    const token = fromMap ?? tokenContent(json[key], file, key) ?? SPECIAL_TOKENS[key];
    if (!s.vocab.has(token)) throw new Specter2Error("BAD_CHECKPOINT", `${s.vocabFile}: the ${key} ${JSON.stringify(token)} is not in the vocabulary`, { file: s.vocabFile, field: key });
    normalized[key] = token;
  }
  return normalized;
}

/** transformers writes huge numbers (1e30) for "no limit"; any positive number is accepted, then capped. */
function modelMaxLength(json: Json, file: string): number {
  const v = json.model_max_length;
  if (v === undefined || v === null) return MAX_MODEL_LENGTH;
  if (typeof v !== "number" || !(v > 0))
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: "model_max_length" is ${JSON.stringify(v)}, expected a positive number`, { file, field: "model_max_length" });
  return Math.floor(v);
}

/** A special token is a string or an AddedToken object {"content": "[UNK]", ...}. */
function tokenContent(value: unknown, file: string, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as Json).content === "string") return (value as Json).content as string;
  throw new Specter2Error("BAD_CHECKPOINT", `${file}: "${key}" is ${JSON.stringify(value)}, expected a token string or {"content": ...}`, { file, field: key });
}

/**
 * vocab.txt as BertTokenizer reads it: one token per line, the line number is the id. Python reads it in
 * universal-newline mode, so "\r\n" and a lone "\r" end a line too.
 */
export function parseVocab(text: string, file: string): string[] {
  const tokens = text.split(/\r\n|\r|\n/);
  if (tokens[tokens.length - 1] === "") tokens.pop();
  if (tokens.length === 0) throw new Specter2Error("BAD_CHECKPOINT", `${file} is empty`, { file });
  return tokens;
}
