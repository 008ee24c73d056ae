// The tokenizer's API. Everything but loadTokenizer (Node's fs) also runs in a browser:
// browser code imports ./bertTokenizer, ./formatPaper and ./tokenizerConfig directly.
export {
  BertTokenizer, DEFAULT_MAX_LENGTH, UNCASED_BERT,
  type BatchEncoding, type BertTokenizerOptions, type EncodeOptions, type Encoding, type SpecialIds, type SpecialTokens,
} from "./bertTokenizer";
export { formatPaper } from "./formatPaper";
export { loadTokenizer } from "./load";
export { parseTokenizerConfig } from "./tokenizerConfig";
