// Code-point-wise string rewriting shared by the normalizer's stages.

// eslint-disable-next-line no-control-regex -- ASCII is U+0000–U+007F, so its range starts at a control character
const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/** UTF-16 units of a code point. */
export function codePointWidth(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/**
 * Rewrites `s` one code point at a time (a lone surrogate is its own code point): `replace`
 * returns the replacement, or undefined to keep the code point. Unchanged runs are copied as
 * slices, and an unchanged string is returned as is.
 */
export function mapCodePoints(s: string, replace: (cp: number) => string | undefined): string {
  let out = "";
  let copiedUpTo = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    const width = codePointWidth(cp);
    const replacement = replace(cp);
    if (replacement !== undefined) {
      out += s.slice(copiedUpTo, i) + replacement;
      copiedUpTo = i + width;
    }
    i += width;
  }
  return copiedUpTo === 0 ? s : out + s.slice(copiedUpTo);
}
