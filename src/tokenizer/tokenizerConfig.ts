// tokenizer_config.json (as transformers writes it) → BertTokenizerOptions. Keys that do not
// change the ids (model_max_length, tokenizer_class, …) are ignored; missing keys take
// BertTokenizer's defaults.
import { UNCASED_BERT, type BertTokenizerOptions, type SpecialTokens } from "./bertTokenizer";
import { Specter2Error } from "../errors";

const SPECIAL_TOKEN_KEYS: Record<keyof SpecialTokens, string> = {
  pad: "pad_token",
  unk: "unk_token",
  cls: "cls_token",
  sep: "sep_token",
  mask: "mask_token",
};

export function parseTokenizerConfig(json: unknown, source: string): BertTokenizerOptions {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${source}: expected a JSON object`, { file: source });
  }
  const config = json as Record<string, unknown>;
  const flag = (key: string, fallback: boolean): boolean => {
    const value = config[key] ?? fallback;
    if (typeof value !== "boolean") {
      throw new Specter2Error("BAD_CHECKPOINT", `${source}: "${key}" must be true or false, got ${JSON.stringify(value)}`, { file: source, field: key });
    }
    return value;
  };
  const stripAccents = config.strip_accents ?? null;
  if (stripAccents !== null && typeof stripAccents !== "boolean") {
    throw new Specter2Error("BAD_CHECKPOINT", `${source}: "strip_accents" must be true, false or null, got ${JSON.stringify(stripAccents)}`, {
      file: source,
      field: "strip_accents",
    });
  }
  const specialTokens = { ...UNCASED_BERT.specialTokens };
  for (const [name, key] of Object.entries(SPECIAL_TOKEN_KEYS) as [keyof SpecialTokens, string][]) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    specialTokens[name] = specialTokenContent(value, `${source}: "${key}"`, source, key);
  }
  return {
    lowercase: flag("do_lower_case", UNCASED_BERT.lowercase),
    stripAccents,
    handleChineseChars: flag("tokenize_chinese_chars", UNCASED_BERT.handleChineseChars),
    specialTokens,
  };
}

/** A special token is a string, or an AddedToken object `{"content": …}`. */
function specialTokenContent(value: unknown, where: string, file: string, field: string): string {
  const content = typeof value === "object" && value !== null ? (value as Record<string, unknown>).content : value;
  if (typeof content !== "string" || content === "") {
    throw new Specter2Error("BAD_CHECKPOINT", `${where} must be a non-empty string or {"content": string}, got ${JSON.stringify(value)}`, { file, field });
  }
  return content;
}
