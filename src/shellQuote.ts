// Commands we print or write into scripts must paste into sh as they are.

/** Quotes a word for sh only when it needs it, so that printed commands stay readable. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
