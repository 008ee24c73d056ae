// BERT's uncased WordPiece tokenizer with exactly Hugging Face BertTokenizerFast's ids:
// special-token split → normalizer → pre-tokenizer → WordPiece → `[CLS] … [SEP]` with truncation;
// its options from a tokenizer_config.json, and the model card's input for a paper.
// Plain TypeScript without I/O, so it runs in a browser as well as in Node.
import type { NormalizerOptions } from "./normalizer";
import { forEachWord, separatesWords } from "./preTokenizer";
import { boundedSegmentsOf } from "./specialTokens";
import { parseVocab, vocabIndex, WordPiece } from "./wordPiece";
import { Specter2Error } from "../errors";

/** The maximum length every SPECTER2 usage passes (the Hub's model_max_length of ~1e30 means none). */
export const DEFAULT_MAX_LENGTH = 512;

export interface SpecialTokens {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

export interface BertTokenizerOptions {
  /** do_lower_case */
  lowercase: boolean;
  /** strip_accents; null follows `lowercase`, as Hugging Face does. */
  stripAccents: boolean | null;
  /** tokenize_chinese_chars */
  handleChineseChars: boolean;
  specialTokens: SpecialTokens;
}

export const UNCASED_BERT: BertTokenizerOptions = {
  lowercase: true,
  stripAccents: null,
  handleChineseChars: true,
  specialTokens: { pad: "[PAD]", unk: "[UNK]", cls: "[CLS]", sep: "[SEP]", mask: "[MASK]" },
};

export interface EncodeOptions {
  /** Length including [CLS] and [SEP]; longer inputs are cut before the final [SEP]. */
  maxLength?: number;
}

export interface Encoding {
  ids: number[];
  tokens: string[];
}

/** Padded to the longest sequence of the batch; row-major [batchSize, seqLength]. */
export interface BatchEncoding {
  ids: Int32Array;
  attentionMask: Int32Array;
  batchSize: number;
  seqLength: number;
  /** Unpadded length of each sequence. */
  lengths: number[];
}

export type SpecialIds = { readonly [K in keyof SpecialTokens]: number };

export class BertTokenizer {
  readonly specialIds: SpecialIds;
  readonly vocabSize: number;
  private readonly normalizerOptions: NormalizerOptions;
  private readonly specialTokenIds: ReadonlyMap<string, number>;
  private readonly wordPiece: WordPiece;
  private readonly cutsBefore: (cp: number) => boolean;

  private constructor(
    private readonly tokens: readonly string[],
    readonly options: BertTokenizerOptions,
    source: string,
  ) {
    const index = vocabIndex(tokens);
    const idOf = (token: string): number => {
      if (token === "") throw new Specter2Error("BAD_CHECKPOINT", `${source}: a special token is the empty string`, { file: source });
      const id = index.get(token);
      if (id === undefined) {
        throw new Specter2Error("BAD_CHECKPOINT", `${source}: special token ${JSON.stringify(token)} is not in the vocabulary`, { file: source });
      }
      return id;
    };
    const st = options.specialTokens;
    this.specialIds = { pad: idOf(st.pad), unk: idOf(st.unk), cls: idOf(st.cls), sep: idOf(st.sep), mask: idOf(st.mask) };
    this.specialTokenIds = new Map(Object.values(st).map((token: string) => [token, idOf(token)]));
    this.vocabSize = tokens.length;
    this.normalizerOptions = {
      lowercase: options.lowercase,
      stripAccents: options.stripAccents ?? options.lowercase,
      handleChineseChars: options.handleChineseChars,
    };
    this.wordPiece = new WordPiece(index, this.specialIds.unk);
    const normalizer = this.normalizerOptions;
    this.cutsBefore = (cp) => separatesWords(cp, normalizer);
  }

  /** From the text of a vocab.txt; `source` names it in errors. */
  static fromVocab(vocabText: string, options: BertTokenizerOptions = UNCASED_BERT, source = "vocab.txt"): BertTokenizer {
    return new BertTokenizer(parseVocab(vocabText, source), options, source);
  }

  get sepToken(): string {
    return this.options.specialTokens.sep;
  }

  encode(text: string, { maxLength = DEFAULT_MAX_LENGTH }: EncodeOptions = {}): Encoding {
    const ids = this.encodeIds(text, maxLength);
    return { ids, tokens: ids.map((id) => this.tokens[id]) };
  }

  encodeBatch(texts: readonly string[], { maxLength = DEFAULT_MAX_LENGTH }: EncodeOptions = {}): BatchEncoding {
    return this.pad(texts.map((text) => this.encodeIds(text, maxLength)));
  }

  /** Encoded rows padded with [PAD] to the longest of them, with their attention mask. */
  pad(rows: readonly (readonly number[])[]): BatchEncoding {
    const lengths = rows.map((row) => row.length);
    const seqLength = lengths.reduce((a, b) => Math.max(a, b), 0);
    const ids = new Int32Array(rows.length * seqLength).fill(this.specialIds.pad);
    const attentionMask = new Int32Array(rows.length * seqLength);
    rows.forEach((row, b) => {
      ids.set(row, b * seqLength);
      attentionMask.fill(1, b * seqLength, b * seqLength + row.length);
    });
    return { ids, attentionMask, batchSize: rows.length, seqLength, lengths };
  }

  private encodeIds(text: string, maxLength: number): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new Specter2Error("BAD_INPUT", `maxLength must be an integer of at least 2 (room for [CLS] and [SEP]), got ${maxLength}`, { field: "maxLength" });
    }
    const room = maxLength - 2;
    const ids = [this.specialIds.cls];
    // Pieces never depend on the text after them, so work stops once the room is full.
    // Special tokens are looked for only as far as the text is read.
    for (const segment of boundedSegmentsOf(text, this.specialTokenIds, this.cutsBefore)) {
      if (ids.length > room) break;
      if (segment.specialId !== undefined) {
        ids.push(segment.specialId);
        continue;
      }
      // Normalized a chunk at a time, so a long text costs what its first room pieces need, not its length.
      forEachWord(segment.text, this.normalizerOptions, (word) => {
        if (ids.length > room) return false;
        this.wordPiece.tokenize(word, ids);
        return true;
      });
    }
    ids.length = Math.min(ids.length, room + 1);
    ids.push(this.specialIds.sep);
    return ids;
  }
}

/** tokenizer_config.json's key of each special token. */
const SPECIAL_TOKEN_KEYS: Record<keyof SpecialTokens, string> = {
  pad: "pad_token",
  unk: "unk_token",
  cls: "cls_token",
  sep: "sep_token",
  mask: "mask_token",
};

/** tokenizer_config.json (as transformers writes it) → BertTokenizerOptions. Keys that do not change the ids
 *  (model_max_length, tokenizer_class, …) are ignored; missing keys take BertTokenizer's defaults. */
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

/**
 * A tokenizer from a model's vocab.txt and tokenizer_config.json (the Hub's files, which our converted model
 * directories also hold), wherever they were read: without a config, BertTokenizer's uncased defaults, as in
 * transformers. `config`: the parsed tokenizer_config.json, or null where there is none; the names are for errors.
 */
export function tokenizerFromFiles(vocabText: string, vocabName: string, config: unknown, configName: string): BertTokenizer {
  return BertTokenizer.fromVocab(vocabText, config === null ? UNCASED_BERT : parseTokenizerConfig(config, configName), vocabName);
}

/** The model card's input for a paper: `title + tokenizer.sep_token + (abstract or "")`. A paper without an abstract
 *  still ends in the separator, as in the Python usage. */
export function formatPaper(title: string, abstract: string | null | undefined, sep = "[SEP]"): string {
  return title + sep + (abstract ?? "");
}
