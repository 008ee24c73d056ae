// vocab.txt: one token per line, the line index is the id.
import { Specter2Error } from "../errors";

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
