// BertNormalizer: clean text → space around CJK ideographs → NFD and drop Mn marks → lowercase,
// in that order, on the text between special tokens.
// Follows huggingface/tokenizers tokenizers/src/normalizers/bert.rs.
import { CJK_CHAR, NFD_OPAQUE_CHAR, NONSPACING_MARK_CHAR, REMOVED_CHAR, WHITESPACE_CHAR, charFlags } from "./charClasses";
import { codePointWidth, isAscii, mapCodePoints } from "./codePoints";
import { lowercase } from "./lowercase";

export interface NormalizerOptions {
  lowercase: boolean;
  /** NFD, then delete non-spacing marks. */
  stripAccents: boolean;
  /** Put spaces around CJK ideographs so each becomes a word. */
  handleChineseChars: boolean;
}

export function normalize(text: string, options: NormalizerOptions): string {
  let s = cleanText(text);
  if (options.handleChineseChars) s = spaceAroundCjk(s);
  if (options.stripAccents && !isAscii(s)) s = stripAccents(s);
  if (options.lowercase) s = lowercase(s);
  return s;
}

/** Deletes NUL, U+FFFD and control characters; every whitespace character becomes a space. */
function cleanText(s: string): string {
  return mapCodePoints(s, (cp) => {
    const flags = charFlags(cp);
    if (flags & REMOVED_CHAR) return "";
    if (flags & WHITESPACE_CHAR && cp !== 0x20) return " ";
    return undefined;
  });
}

function spaceAroundCjk(s: string): string {
  return mapCodePoints(s, (cp) => (charFlags(cp) & CJK_CHAR ? ` ${String.fromCodePoint(cp)} ` : undefined));
}

function stripAccents(s: string): string {
  return mapCodePoints(nfd(s), (cp) => (charFlags(cp) & NONSPACING_MARK_CHAR ? "" : undefined));
}

/**
 * NFD as the reference's (older) tables do it: characters newer than those tables are neither
 * decomposed nor reordered, so the text is normalized in pieces around them.
 */
function nfd(s: string): string {
  let out = "";
  let pieceStart = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    if (charFlags(cp) & NFD_OPAQUE_CHAR) {
      out += s.slice(pieceStart, i).normalize("NFD") + s.slice(i, i + width);
      pieceStart = i + width;
    }
    i += width;
  }
  return out + s.slice(pieceStart).normalize("NFD");
}
