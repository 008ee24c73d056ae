// The package's public API.
export { Specter2Pool, type PoolOptions } from "./pool/specter2Pool";
export { Specter2, DEFAULT_BATCH_SIZE, type EmbedInput, type EmbedOptions, type LoadOptions, type Paper } from "./specter2";
export { initBackend, BACKEND_CHOICES, type BackendChoice, type BackendInfo } from "./backend/select";
export { BertTokenizer, formatPaper, DEFAULT_MAX_LENGTH } from "./tokenizer";
export { loadTokenizer } from "./tokenizer/load";
export { compareWithReference, formatParityTable, DEFAULT_TOLERANCE, type LayerDiff } from "./parity";
export type { Pooling } from "./model/bert";
export type { BertConfig, BottleneckConfig, AdapterSpec } from "./model/config";
