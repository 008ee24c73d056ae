// WordPiece: greedy longest-match-first split of one word into vocabulary pieces, continuation
// pieces prefixed with "##"; a word with any unmatched rest, or longer than the limit, is [UNK].
// Its vocabulary is vocab.txt: one token per line, the line index is the id.
// Follows huggingface/tokenizers tokenizers/src/models/wordpiece/mod.rs.
import { Specter2Error } from "../errors";

export const CONTINUING_SUBWORD_PREFIX = "##";
/** Words longer than this many characters (code points, not UTF-16 units) become [UNK]. */
export const MAX_INPUT_CHARS_PER_WORD = 100;

/** The tokens by id. Lines end in \n or \r\n; a final newline adds no entry. */
export function parseVocab(text: string, source: string): string[] {
  const tokens = text.split(/\r?\n/);
  if (tokens[tokens.length - 1] === "") tokens.pop();
  if (tokens.length === 0) throw new Specter2Error("BAD_CHECKPOINT", `${source}: empty vocabulary`, { file: source });
  return tokens;
}

/** Token → id. A token listed twice maps to its last line, as both Hugging Face loaders do. */
export function vocabIndex(tokens: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  tokens.forEach((token, id) => index.set(token, id));
  return index;
}

export class WordPiece {
  /** No vocabulary entry is longer (in UTF-16 units): longer candidates need no lookup. */
  private readonly longestEntry: number;

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly unkId: number,
  ) {
    let longest = 0;
    for (const token of vocab.keys()) longest = Math.max(longest, token.length);
    this.longestEntry = longest;
  }

  /** Appends the ids of `word`'s pieces to `ids`. */
  tokenize(word: string, ids: number[]): void {
    if (word.length > MAX_INPUT_CHARS_PER_WORD && countCodePoints(word) > MAX_INPUT_CHARS_PER_WORD) {
      ids.push(this.unkId);
      return;
    }
    const firstPiece = ids.length;
    for (let start = 0; start < word.length;) {
      const prefix = start > 0 ? CONTINUING_SUBWORD_PREFIX : "";
      let end = Math.min(word.length, start + this.longestEntry - prefix.length);
      let id: number | undefined;
      while (end > start) {
        id = this.vocab.get(prefix + word.slice(start, end));
        if (id !== undefined) break;
        end -= isTrailSurrogate(word.charCodeAt(end - 1)) && end - 2 >= start ? 2 : 1;
      }
      if (id === undefined) {
        ids.length = firstPiece;
        ids.push(this.unkId);
        return;
      }
      ids.push(id);
      start = end;
    }
  }
}

function isTrailSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (!isTrailSurrogate(s.charCodeAt(i))) n++;
  return n;
}
