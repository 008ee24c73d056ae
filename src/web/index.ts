// The browser entry (`import { Specter2 } from "specter2-tfjs"` under a bundler's "browser" condition, or
// dist/web/specter2.js from a <script type="module">): the same engine, tokenizer and errors as in Node, with model
// directories fetched from URLs and the page's backends (docs/browser.md).
import * as tf from "@tensorflow/tfjs-core";

export { Specter2, type EmbedOptions, type WebLoadOptions } from "./specter2";
export { WEB_BACKENDS, type WebBackend } from "./backends";
export type { Progress } from "../weights/modelDir";
export type { EmbedInput, Paper } from "../engine/inputs";
export { Specter2Error, isSpecter2Error, ERROR_CODES, type ErrorCode, type ErrorDetails } from "../errors";
export { BertTokenizer, formatPaper, DEFAULT_MAX_LENGTH } from "../tokenizer";
export type { BackendInfo } from "../engine/options";

/** tfjs' tensor count and bytes in this page (or worker), e.g. to check that embedding frees what it makes. Read from
 *  tfjs' engine state, which needs no backend: tf.memory() would initialise the highest-priority one (webgpu) first,
 *  and throws before a load has awaited one. */
export function memory(): { numTensors: number; numBytes: number } {
  const { numTensors, numBytes } = tf.engine().state;
  return { numTensors, numBytes };
}
