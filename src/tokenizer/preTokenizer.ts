// BertPreTokenizer: split on whitespace (dropped) and around punctuation (each mark its own word).
// Follows huggingface/tokenizers tokenizers/src/pre_tokenizers/bert.rs.
import { PUNCTUATION_CHAR, WHITESPACE_CHAR, charFlags } from "./charClasses";
import { codePointWidth } from "./codePoints";

export function preTokenize(s: string): string[] {
  const words: string[] = [];
  let wordStart = -1;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    const flags = charFlags(cp);
    if (flags & (WHITESPACE_CHAR | PUNCTUATION_CHAR)) {
      if (wordStart >= 0) words.push(s.slice(wordStart, i));
      wordStart = -1;
      if (flags & PUNCTUATION_CHAR) words.push(s.slice(i, i + width));
    } else if (wordStart < 0) {
      wordStart = i;
    }
    i += width;
  }
  if (wordStart >= 0) words.push(s.slice(wordStart));
  return words;
}
