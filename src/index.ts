// The package's public API (`specter2-tfjs`): the engine, its options and errors, and the pieces a caller may
// want alone. `specter2-tfjs/serve` has the HTTP service, `specter2-tfjs/tokenizer` the tokenizer, `specter2-tfjs/langchain`
// LangChain's Embeddings.
export { Specter2, type EmbedOptions, type LoadOptions } from "./node/specter2";
export type { EmbedInput, Paper } from "./engine/inputs";
export type { ModelDType, Progress } from "./weights/modelDir";
export { DEFAULT_TOLERANCE, defaultAdapterOf } from "./engine/defaults";
export { BACKEND_CHOICES, DEFAULT_BACKEND, DEFAULT_BATCH_SIZE, type BackendChoice } from "./engine/options";
export { defaultThreads, defaultWorkers } from "./backend/candidates";
export { Specter2Error, isSpecter2Error, ERROR_CODES, type ErrorCode, type ErrorDetails } from "./errors";
export { initBackend } from "./backend/select";
export type { BackendInfo } from "./engine/options";
export { BertTokenizer, formatPaper, DEFAULT_MAX_LENGTH } from "./tokenizer";
export { loadTokenizer } from "./node/modelDirectory";
export { compareWithReference, formatParityTable, type LayerDiff } from "./parity";
export type { BertConfig, BottleneckConfig, AdapterSpec, Pooling } from "./model/config";
export { VERSION } from "./node/version";
