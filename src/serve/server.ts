// The HTTP service around one served model (in worker threads or on the main thread): Fastify with
// schema-validated bodies, JSON errors in each API's shape, bearer-key auth, a concurrency limit, metrics,
// warm-up and a draining close.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyError, FastifyInstance, FastifyRequest, onRequestHookHandler } from "fastify";
import Fastify from "fastify";
import type { Specter2 } from "../specter2";
import type { ServeContext, ServeOptions } from "./context";
import { Embedder } from "./embedder";
import { ApiError, errorBody } from "./errors";
import { ServeMetrics } from "./metrics";
import { openAiRoutes } from "./routes/openai";
import { opsRoutes } from "./routes/ops";
import { teiRoutes } from "./routes/tei";

export interface Service {
  app: FastifyInstance;
  /** Runs every adapter once (first calls pay one-off costs), then /health says ok. */
  warmUp(): Promise<void>;
  /** Stops accepting, answers every accepted request, then resolves. The model stays the caller's. */
  close(): Promise<void>;
}

export function createService(model: Specter2, options: ServeOptions): Service {
  const metrics = new ServeMetrics();
  const embedder = new Embedder(model, { maxLength: options.maxLength, maxBatchTokens: options.maxBatchTokens }, metrics);
  const state = { ready: false, closing: false };
  const ctx: ServeContext = { options, embedder, metrics, state, admit: admission(options.maxConcurrentRequests, metrics) };

  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.maxBodyBytes,
    // Wrong types are errors, not coerced; unknown fields are reported, not silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  app.decorateRequest("adapterLabel", "");
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = describe(error, options.maxBodyBytes);
    if (e.statusCode >= 500) request.log.error({ err: error }, "request failed");
    reply
      .code(e.statusCode)
      .headers(e.headers)
      .send(errorBody(request.url, e.statusCode, e.message, e.code));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(request.url, 404, `no route ${request.method} ${request.url.split("?")[0]}`, "not_found"));
  });
  if (options.apiKey !== undefined) app.addHook("onRequest", bearerAuth(options.apiKey));
  // While draining, each answered keep-alive connection is closed instead of idling until its timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (state.closing) reply.header("connection", "close");
  });
  app.addHook("onResponse", async (request, reply) => {
    metrics.request(routeLabel(request), request.adapterLabel, reply.statusCode, reply.elapsedTime / 1000);
  });
  openAiRoutes(app, ctx);
  teiRoutes(app, ctx);
  opsRoutes(app, ctx);

  return {
    app,
    warmUp: async () => {
      // All at once: one batch per adapter, spread over the workers, so that each worker's first pass is done too.
      await Promise.all(embedder.names().map((name) => embedder.embed(["warm-up"], embedder.resolve(name), { truncate: true })));
      state.ready = true;
    },
    close: async () => {
      state.closing = true;
      await app.close();
    },
  };
}

/** 429 with Retry-After while `max` embedding requests are in flight. */
function admission(max: number, metrics: ServeMetrics): onRequestHookHandler {
  let inFlight = 0;
  return async (_request, reply) => {
    if (inFlight >= max) throw new ApiError(429, `${max} requests are in flight (--max-concurrent-requests); retry shortly`, "overloaded", { "Retry-After": "1" });
    metrics.requestsInFlight(++inFlight);
    // "close" fires once however the exchange ends: answered, failed or abandoned by the client.
    reply.raw.once("close", () => metrics.requestsInFlight(--inFlight));
  };
}

/** 401 unless `Authorization: Bearer <key>`; /health stays open for probes. */
function bearerAuth(key: string): onRequestHookHandler {
  // Digests have equal lengths, so the comparison takes the same time whatever the guess.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const expected = digest(key);
  return async (request) => {
    if (request.routeOptions.url === "/health") return;
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new ApiError(401, "missing or wrong API key: send Authorization: Bearer <key>", "invalid_api_key", { "WWW-Authenticate": "Bearer" });
    }
  };
}

/** A bounded label: the route pattern, never the raw URL. */
function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? "unmatched";
}

interface Described {
  statusCode: number;
  message: string;
  code: string;
  headers: Record<string, string>;
}

/** Any error → what the client is told. Internals of a 5xx are logged, not sent. */
function describe(error: FastifyError, maxBodyBytes: number): Described {
  if (error instanceof ApiError) return { statusCode: error.statusCode, message: error.message, code: error.code, headers: error.headers };
  if (error.validation) {
    const details = error.validation.map((v) => {
      const extra = (v.params as { additionalProperty?: string }).additionalProperty;
      return `${error.validationContext ?? "body"}${v.instancePath} ${v.message}${extra ? `: "${extra}"` : ""}`;
    });
    return { statusCode: 400, message: details.join("; "), code: "invalid_request", headers: {} };
  }
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return { statusCode: 413, message: `request body over ${maxBodyBytes} bytes`, code: "payload_too_large", headers: {} };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { statusCode: status, message: error.message, code: status === 415 ? "unsupported_media_type" : "invalid_request", headers: {} };
  }
  return { statusCode: 500, message: "internal server error", code: "internal_error", headers: {} };
}
