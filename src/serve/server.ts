// The HTTP service around one served model (in worker threads or on the main thread): Fastify with
// schema-validated bodies, JSON errors in each API's shape, bearer-key auth, a concurrency limit, deadlines
// for slow clients, metrics, warm-up and a draining close.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from "fastify";
import Fastify from "fastify";
import { isSpecter2Error } from "../errors";
import type { Specter2 } from "../node/specter2";
import { bodyDeadline, Connections, DEFAULT_CONNECTION_LIMITS, serverOptions } from "./connections";
import type { ServeContext, ServeOptions } from "./context";
import { Embedder } from "./embedder";
import { ApiError, errorBody } from "./errors";
import { readJsonBodies } from "./jsonBody";
import { ServeMetrics } from "./metrics";
import { openAiRoutes, opsRoutes, extrasBeforeRoutes, extrasRoutes, rankRoutes, teiRoutes } from "./routes";

export interface Service {
  app: FastifyInstance;
  /** Runs every adapter once (first calls pay one-off costs), then /health says ok. */
  warmUp(): Promise<void>;
  /**
   * Stops accepting, closes at once every connection without a request read whole (idle, or still sending
   * its request), answers every request read (pipelined ones too), then resolves; after `shutdownTimeoutMs` every connection is
   * closed, answered or not. The model stays the caller's.
   */
  close(): Promise<void>;
}

export function createService(model: Specter2, options: ServeOptions): Service {
  const metrics = new ServeMetrics();
  const embedder = new Embedder(
    model,
    { maxLength: options.maxLength, maxBatchTokens: options.maxBatchTokens, mixAdapters: options.mixAdapters ?? true, passOverheadTokens: options.passOverheadTokens },
    metrics,
  );
  const state = { ready: false, closing: false };
  const ctx: ServeContext = { options, embedder, metrics, state, admit: admission(options.maxConcurrentRequests, metrics) };

  const limits = {
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs,
    maxConnections: options.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.shutdownTimeoutMs,
  };
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.maxBodyBytes,
    // Wrong types are errors, not coerced; unknown fields are reported, not silently dropped. String
    // lengths in UTF-16 units (`unicode: false`): the schemas' only bound, minLength 1, means the same
    // either way, and counting code points would read a whole 2 MiB text on the main thread.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, unicode: false, allowUnionTypes: true, logger: AJV_LOGGER } },
    ...serverOptions(limits),
    // Errors of Node's HTTP parser (431, 408, 400) in the route's API style, not Fastify's.
    clientErrorHandler: (error, socket) => connections.clientError(error, socket),
    // A URL Fastify cannot route (bad percent-encoding): 400 in the route's style.
    frameworkErrors: (error, request, reply) => {
      // (Fastify types this reply with generics of a route that does not exist here.)
      (reply as unknown as FastifyReply).code(400).send(errorBody(request.url, 400, error.message, "invalid_request"));
    },
  });
  const connections: Connections = new Connections(app.server, limits);
  // Only JSON: Fastify's built-in text/plain parser would turn a text body into a 400 (not an object)
  // where the right answer is 415.
  app.removeContentTypeParser("text/plain");
  const bodies = readJsonBodies(app, options.maxBodyBytes);
  app.decorateRequest("adapterLabel", "");
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = describe(error, request, options.maxBodyBytes);
    if (e.statusCode >= 500) request.log.error({ err: error }, "request failed");
    reply
      .code(e.statusCode)
      .headers(e.headers)
      .send(errorBody(request.url, e.statusCode, e.message, e.code));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(request.url, 404, `no route ${request.method} ${request.url.split("?")[0]}`, "not_found"));
  });
  // CORS first: a browser's preflight is answered before auth (it carries no credentials).
  const routes = extrasBeforeRoutes(app, ctx);
  // Every exchange is counted once it ends, however: "close" fires for an answered one and for one the
  // client abandoned (onResponse fires only for the first, so aborted requests went uncounted).
  app.addHook("onRequest", async (request, reply) => {
    reply.raw.once("close", () => {
      const answered = reply.raw.writableFinished;
      metrics.request(routeLabel(request), request.adapterLabel, answered ? reply.statusCode : CLIENT_CLOSED, reply.elapsedTime / 1000);
    });
  });
  app.addHook("onRequest", connections.arrived);
  // While draining, a request on a connection still open is refused (/health says why itself).
  app.addHook("onRequest", async (request) => {
    if (state.closing && request.routeOptions.url !== "/health") {
      throw new ApiError(503, "the server is shutting down; retry on another instance", "shutting_down", { "Retry-After": "1", connection: "close" });
    }
  });
  if (options.apiKey !== undefined)
    app.addHook(
      "onRequest",
      bearerAuth(options.apiKey, (request) => connections.authenticated(request)),
    );
  app.addHook("preParsing", bodyDeadline(limits.bodyTimeoutMs));
  // While draining, a keep-alive connection is closed with the answer to the last request read on it, instead of
  // idling until its timeout; not before, or the requests a client pipelined behind it would go unanswered.
  app.addHook("onSend", async (request, reply) => {
    if (state.closing && connections.lastOnItsConnection(request)) reply.header("connection", "close");
  });
  openAiRoutes(app, ctx);
  teiRoutes(app, ctx);
  opsRoutes(app, ctx);
  rankRoutes(app, ctx);
  extrasRoutes(app, ctx, routes);

  return {
    app,
    warmUp: async () => {
      // All at once: one batch per adapter, spread over the workers, so that each worker's first pass is done too.
      await Promise.all(embedder.names().map((name) => embedder.embed(["warm-up"], embedder.resolve(name), { truncate: true })));
      state.ready = true;
    },
    close: async () => {
      state.closing = true;
      const closed = app.close();
      connections.drain();
      const timer = setTimeout(() => connections.closeAll(), limits.shutdownTimeoutMs);
      try {
        await closed;
      } finally {
        clearTimeout(timer);
        bodies.close();
      }
    },
  };
}

/** Ajv's warnings as usual, but for the deprecation notice of its `unicode` option (still honoured by Ajv 8). */
const AJV_LOGGER = {
  log: (...args: unknown[]) => console.log(...args),
  warn: (...args: unknown[]) => {
    if (!String(args[0]).startsWith("DEPRECATED: option unicode")) console.warn(...args);
  },
  error: (...args: unknown[]) => console.error(...args),
};

/** nginx's status for a request whose client closed the connection before the answer. */
const CLIENT_CLOSED = 499;

/**
 * preHandler of the routes that work per input (embedding, /rank, /tokenize): 429 with Retry-After while `max`
 * of their requests are in flight.
 * A slot is taken only once the body is in and the request authenticated, so clients that hold a
 * connection without finishing their request hold no slot.
 */
function admission(max: number, metrics: ServeMetrics): preHandlerHookHandler {
  let inFlight = 0;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // Already abandoned: its "close" has fired, so a slot taken now would never be given back.
    if (reply.raw.destroyed || request.raw.socket?.destroyed !== false) throw new ApiError(CLIENT_CLOSED, "client closed the request", "client_closed");
    if (inFlight >= max) throw new ApiError(429, `${max} requests are in flight (--max-concurrent-requests); retry shortly`, "overloaded", { "Retry-After": "1" });
    metrics.requestsInFlight(++inFlight);
    // "close" fires once however the exchange ends: answered, failed or abandoned by the client.
    reply.raw.once("close", () => metrics.requestsInFlight(--inFlight));
  };
}

/** 401 unless `Authorization: Bearer <key>`; /health stays open for probes. `onAuthenticated`: the key was right. */
function bearerAuth(key: string, onAuthenticated: (request: FastifyRequest) => void): onRequestHookHandler {
  // Digests have equal lengths, so the comparison takes the same time whatever the guess.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const expected = digest(key);
  return async (request) => {
    if (request.routeOptions.url === "/health") return;
    // The scheme is case-insensitive (RFC 7235); spaces or tabs separate it from the key.
    const given = /^bearer[ \t]+(.*?)[ \t]*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new ApiError(401, "missing or wrong API key: send Authorization: Bearer <key>", "invalid_api_key", { "WWW-Authenticate": "Bearer" });
    }
    onAuthenticated(request);
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
function describe(error: FastifyError, request: FastifyRequest, maxBodyBytes: number): Described {
  if (error instanceof ApiError) return { statusCode: error.statusCode, message: error.message, code: error.code, headers: error.headers };
  // The model made a vector that is not finite for a valid input: the model's failure (the library's NOT_FINITE,
  // not BAD_INPUT), so a 5xx as when a batch fails; its message names the input, and is what the client needs.
  if (isSpecter2Error(error, "NOT_FINITE")) return { statusCode: 500, message: error.message, code: "not_finite", headers: {} };
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
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return {
      statusCode: 415,
      message: `unsupported content type ${JSON.stringify(request.headers["content-type"] ?? "")}: send application/json`,
      code: "unsupported_media_type",
      headers: {},
    };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { statusCode: status, message: error.message, code: status === 415 ? "unsupported_media_type" : "invalid_request", headers: {} };
  }
  return { statusCode: 500, message: "internal server error", code: "internal_error", headers: {} };
}
