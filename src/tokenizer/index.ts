// The tokenizer's API, the package's `specter2-tfjs/tokenizer` entry: platform-neutral (no `node:`
// imports), so it also runs in a browser. loadTokenizer (which reads a model directory with Node's fs)
// lives in src/node/modelDirectory.ts and is exported by the Node entry (src/index.ts).
export {
  BertTokenizer,
  DEFAULT_MAX_LENGTH,
  formatPaper,
  parseTokenizerConfig,
  UNCASED_BERT,
  type BatchEncoding,
  type BertTokenizerOptions,
  type EncodeOptions,
  type Encoding,
  type SpecialIds,
  type SpecialTokens,
} from "./bertTokenizer";
