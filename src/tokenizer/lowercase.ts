// Lowercasing character by character with Rust's `char::to_lowercase` mapping (tables above), so
// the result depends neither on the JS engine's Unicode version nor on context: JavaScript's
// toLowerCase turns a word-final Σ into ς, Rust's per-character mapping always gives σ.
import { isAscii, mapCodePoints } from "./codePoints";
import { LOWERCASE_EXPANSIONS, LOWERCASE_OFFSETS } from "./unicodeTables";

const LOWER = new Map<number, string>(LOWERCASE_EXPANSIONS);
for (let i = 0; i < LOWERCASE_OFFSETS.length; i += 4) {
  const [start, end, step, offset] = LOWERCASE_OFFSETS.slice(i, i + 4);
  for (let cp = start; cp <= end; cp += step) LOWER.set(cp, String.fromCodePoint(cp + offset));
}

export function lowercase(s: string): string {
  // For ASCII every engine's toLowerCase is exactly A-Z → a-z, and fast.
  if (isAscii(s)) return s.toLowerCase();
  return mapCodePoints(s, (cp) => LOWER.get(cp));
}
