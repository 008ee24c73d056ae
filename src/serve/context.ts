// What every route shares: the options the server was started with, the embedder, metrics, and state.
import type { FastifyServerOptions, onRequestHookHandler } from "fastify";
import type { Embedder } from "./embedder";
import type { ServeMetrics } from "./metrics";

export interface ServeOptions {
  /** Tokens per input including [CLS] and [SEP]; longer inputs are truncated or refused. */
  maxLength: number;
  /** Padded tokens (rows × longest row) per forward pass. */
  maxBatchTokens: number;
  /** Embedding requests in flight at once; more get 429. */
  maxConcurrentRequests: number;
  /** Inputs per request; more get 413. */
  maxClientBatchSize: number;
  /** Request body size; larger gets 413. */
  maxBodyBytes: number;
  /** A request not answered by then gets 503 and its waiting inputs leave the queue. */
  requestTimeoutMs: number;
  /** When set, every route but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  logger: FastifyServerOptions["logger"];
}

export interface ServeState {
  /** Loaded and warmed up. */
  ready: boolean;
  /** Draining after SIGTERM/SIGINT. */
  closing: boolean;
}

export interface ServeContext {
  options: ServeOptions;
  embedder: Embedder;
  metrics: ServeMetrics;
  state: ServeState;
  /** onRequest hook of the embedding routes: 429 over --max-concurrent-requests. */
  admit: onRequestHookHandler;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The adapter a request asked for, as a metrics label ("" before it is known). */
    adapterLabel: string;
  }
}
