// What every route shares: the options the server was started with, the embedder, metrics, and state.
import type { FastifyServerOptions, preHandlerHookHandler } from "fastify";
import type { Embedder } from "./embedder";
import type { ServeMetrics } from "./metrics";

export interface ServeOptions {
  /** Tokens per input including [CLS] and [SEP]; longer inputs are truncated or refused. */
  maxLength: number;
  /** Padded tokens (rows × longest row) per forward pass. */
  maxBatchTokens: number;
  /** Rows of different adapters share forward passes (default true); false: each adapter has its own batches. */
  mixAdapters?: boolean;
  /** Padding a row may add to join a batch, in tokens; undefined: learned from the passes run (PassCost, src/serve/batchPlan.ts). */
  passOverheadTokens?: number;
  /** Origin (or "*") whose browser clients get CORS headers; undefined: none. */
  corsAllowOrigin?: string;
  /** Embedding requests in flight at once; more get 429. */
  maxConcurrentRequests: number;
  /** Inputs per request; more get 413. */
  maxClientBatchSize: number;
  /** Request body size; larger gets 413. */
  maxBodyBytes: number;
  /** A request not answered by then gets 503 and its waiting inputs leave the queue. */
  requestTimeoutMs: number;
  /** Request line and headers must arrive within this (default 10 s); else 408 and the connection closes. */
  headersTimeoutMs?: number;
  /** A request body must arrive whole within this of its headers (default 30 s); else 408 and the connection closes. */
  bodyTimeoutMs?: number;
  /** Open connections at once (default 1024); a further one takes the slot of the connection idle longest (one that
   *  never authenticated first), or is closed at once when none is idle. */
  maxConnections?: number;
  /** close() waits this long for the requests already read to be answered (default 30 s), then closes every connection. */
  shutdownTimeoutMs?: number;
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
  /** preHandler hook of the routes that work per input (embedding, /rank, /tokenize; the body is in, the request
   *  authenticated): 429 over --max-concurrent-requests. */
  admit: preHandlerHookHandler;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The adapter a request asked for, as a metrics label ("" before it is known). */
    adapterLabel: string;
  }
}
