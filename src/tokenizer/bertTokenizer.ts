// BERT's uncased WordPiece tokenizer with exactly Hugging Face BertTokenizerFast's ids:
// special-token split → normalizer → pre-tokenizer → WordPiece → `[CLS] … [SEP]` with truncation.
// Plain TypeScript without I/O, so it runs in a browser as well as in Node.
import type { NormalizerOptions } from "./normalizer";
import { boundedSegmentsOf } from "./specialTokens";
import { parseVocab, vocabIndex } from "./vocab";
import { WordPiece } from "./wordPiece";
import { forEachWord, separatesWords } from "./words";
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
