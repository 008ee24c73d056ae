// How deep a request body's JSON nests, found before it is parsed. JSON.parse itself is iterative, but what is done
// with its value may not be: handing it from a worker thread (the structured clone of postMessage) recurses per
// level and overflows the stack 100,000 levels deep. No body the routes accept nests more than a few levels (a
// stored record sent as a paper, a few more), so deeper bodies are refused before anything recurses on them.

/** Arrays and objects nested deeper than this are refused (400). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The offset of the byte that opens the (MAX_JSON_DEPTH + 1)-th nested array or object of `bytes` (JSON as UTF-8),
 * or -1: one pass, no recursion, brackets inside strings skipped. UTF-8 encodes every non-ASCII character in
 * bytes ≥ 0x80, so none is taken for a quote, a backslash or a bracket. Not a validation: malformed JSON is left
 * to the parser.
 */
export function tooDeepAt(bytes: Uint8Array): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > MAX_JSON_DEPTH) return i;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) depth--;
  }
  return -1;
}

/** What a client is told about a body `tooDeepAt` refused. */
export function tooDeepMessage(at: number): string {
  return `the JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (at byte ${at})`;
}
