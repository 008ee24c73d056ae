// The route table: every route the server answers, in the APIs' groups. One embedding request, whichever API it came
// through, goes the same way (embedRequest, first below): limits, adapter, deadline, then the queue; the routes differ
// only in their bodies and answers.
import type { FastifyInstance, RouteOptions, FastifyReply, FastifyRequest } from "fastify";
import type { ServeContext } from "./context";
import { adapterLabel } from "./embedder";
import type { EmbedResult } from "./embedder";
import { normalized } from "../engine/normalize";
import type { OpenAiEmbeddingsBody, TeiEmbedBody, RankBody, TokenizeBody } from "./schemas";
import { openAiEmbeddingsSchema, teiEmbedSchema, rankSchema, tokenizeSchema } from "./schemas";
import type { EmbedInput } from "../engine/inputs";
import { ApiError } from "./errors";
import { makeScorer } from "../search/search";
import { VERSION } from "../node/version";
import { DEFAULT_CONNECTION_LIMITS } from "./connections";

// --- One embedding request, whichever API it came through

/** 413 over --max-client-batch-size: for every route that works per input (embedding, tokenizing). */
export function checkClientBatchSize(ctx: ServeContext, inputs: number): void {
  const limit = ctx.options.maxClientBatchSize;
  if (inputs > limit) throw new ApiError(413, `${inputs} inputs in one request; the limit is ${limit} (--max-client-batch-size)`, "too_many_inputs");
}

export async function embedRequest(
  ctx: ServeContext,
  request: FastifyRequest,
  reply: FastifyReply,
  inputs: readonly EmbedInput[],
  /** As the client named it; undefined: the model's default adapter. */
  adapterName: string | undefined,
  truncate: boolean,
  /** How an error names input `index` (default "input <index>"). */
  inputName?: (index: number) => string,
): Promise<EmbedResult> {
  checkClientBatchSize(ctx, inputs.length);
  const adapter = ctx.embedder.resolve(adapterName);
  request.adapterLabel = adapterLabel(adapter);
  // Inputs still waiting leave the queue when the deadline passes or the client goes away.
  const abort = new AbortController();
  const seconds = ctx.options.requestTimeoutMs / 1000;
  const timer = setTimeout(
    () => abort.abort(new ApiError(503, `not answered within ${seconds} s; retry later or send fewer inputs`, "timeout", { "Retry-After": "1" })),
    ctx.options.requestTimeoutMs,
  );
  const onClose = () => abort.abort(new ApiError(499, "client closed the request", "client_closed"));
  reply.raw.once("close", onClose);
  try {
    return await ctx.embedder.embed(inputs, adapter, { truncate, signal: abort.signal, inputName });
  } finally {
    clearTimeout(timer);
    reply.raw.off("close", onClose);
  }
}

// --- OpenAI-compatible embeddings: POST /v1/embeddings, GET /v1/models[/:id]. `model` names an adapter.
const OWNER = "specter2-tfjs";

export function openAiRoutes(app: FastifyInstance, ctx: ServeContext): void {
  // Unix seconds, as OpenAI's `created`: when this server loaded the model.
  const created = Math.floor(Date.now() / 1000);
  const card = (id: string) => ({ id, object: "model", created, owned_by: OWNER });

  app.post<{ Body: OpenAiEmbeddingsBody }>("/v1/embeddings", { schema: { body: openAiEmbeddingsSchema }, preHandler: ctx.admit }, async (request, reply) => {
    const body = request.body;
    const inputs = typeof body.input === "string" ? [body.input] : body.input;
    const { vectors, tokens } = await embedRequest(ctx, request, reply, inputs, body.model, true);
    return {
      object: "list",
      data: vectors
        .map((v) => (body.normalize ? normalized(v) : v))
        .map((v, index) => ({ object: "embedding", index, embedding: body.encoding_format === "base64" ? toBase64(v) : Array.from(v) })),
      model: body.model ?? adapterLabel(ctx.embedder.model.defaultAdapter),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.get("/v1/models", async () => ({ object: "list", data: ctx.embedder.names().map(card) }));

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    ctx.embedder.resolve(request.params.id); // 404 naming the choices when unknown
    return card(request.params.id);
  });
}

/** OpenAI's base64 form: the float32 values' bytes (little-endian, as on every host Node runs on). */
function toBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

// --- POST /embed in the style of text-embeddings-inference, plus an `adapter` field and a paper form
// ({papers: [{title, abstract}]}) embedded as SPECTER2's `title [SEP] abstract`.
export function teiRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{ Body: TeiEmbedBody }>("/embed", { schema: { body: teiEmbedSchema }, preHandler: ctx.admit }, async (request, reply) => {
    const body = request.body;
    if ((body.inputs === undefined) === (body.papers === undefined)) {
      throw new ApiError(400, "give either `inputs` (texts) or `papers` ([{title, abstract}]), not both or neither", "invalid_request");
    }
    const inputs: EmbedInput[] = body.papers ?? (typeof body.inputs === "string" ? [body.inputs] : body.inputs!);
    const { vectors } = await embedRequest(ctx, request, reply, inputs, body.adapter, body.truncate);
    return vectors.map((v) => Array.from(body.normalize ? normalized(v) : v));
  });
}

// --- POST /rank: SPECTER2's ad-hoc search in one request: the query embedded with adhoc_query, the candidate papers
// with proximity, in the same batches (the queue mixes adapters), ranked by ascending L2 distance as SciRepEval
// ranks (src/search/search.ts).
export const DEFAULT_QUERY_ADAPTER = "adhoc_query";
export const DEFAULT_PAPER_ADAPTER = "proximity";

export function rankRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{ Body: RankBody }>("/rank", { schema: { body: rankSchema }, preHandler: ctx.admit }, async (request, reply) => {
    const { query, papers, truncate } = request.body;
    const limit = ctx.options.maxClientBatchSize;
    // The query is one more input: the request's rows are the papers and it.
    if (papers.length + 1 > limit) throw new ApiError(413, `${papers.length} papers and a query in one request; the limit is ${limit} inputs (--max-client-batch-size)`, "too_many_inputs");
    const queryAdapter = request.body.query_adapter ?? DEFAULT_QUERY_ADAPTER;
    const paperAdapter = request.body.paper_adapter ?? DEFAULT_PAPER_ADAPTER;
    const [q, p] = await Promise.all([
      embedRequest(ctx, request, reply, [query], queryAdapter, truncate, () => "the query"),
      embedRequest(ctx, request, reply, papers, paperAdapter, truncate, (i) => `paper ${i}`),
    ]);
    request.adapterLabel = `${queryAdapter}+${paperAdapter}`;
    const scorer = makeScorer("l2", q.vectors[0]);
    const results = p.vectors.map((v, index) => ({ index, ...(papers[index].id === undefined ? {} : { id: papers[index].id }), distance: scorer.score(v) }));
    // Ascending distance; equal distances keep the papers' order.
    results.sort((a, b) => a.distance - b.distance || a.index - b.index);
    return { results: results.slice(0, request.body.top_k ?? results.length) };
  });
}

// --- For operators: readiness, what is served and with which limits, Prometheus metrics.
export function opsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get("/health", async (_request, reply) => {
    if (ctx.state.closing) return reply.code(503).send({ status: "shutting down" });
    if (!ctx.state.ready) return reply.code(503).send({ status: "loading" });
    return { status: "ok" };
  });

  app.get("/info", async () => {
    const m = ctx.embedder.model;
    const o = ctx.options;
    return {
      model: m.dir,
      base: m.manifest.base.source,
      adapters: m.adapterNames,
      default_adapter: adapterLabel(m.defaultAdapter),
      base_model_name: adapterLabel(null),
      hidden_size: m.hiddenSize,
      backend: m.backend,
      workers: m.workers,
      limits: {
        max_length: o.maxLength,
        max_batch_tokens: o.maxBatchTokens,
        max_concurrent_requests: o.maxConcurrentRequests,
        max_client_batch_size: o.maxClientBatchSize,
        max_body_bytes: o.maxBodyBytes,
        request_timeout_s: o.requestTimeoutMs / 1000,
        headers_timeout_s: (o.headersTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.headersTimeoutMs) / 1000,
        body_timeout_s: (o.bodyTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs) / 1000,
        max_connections: o.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
        shutdown_timeout_s: (o.shutdownTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.shutdownTimeoutMs) / 1000,
      },
      auth: o.apiKey !== undefined,
      version: `specter2-tfjs ${VERSION}`,
    };
  });

  app.get("/metrics", async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}

// --- What a client of an embedding server expects besides embeddings, as text-embeddings-inference has them:
// POST /tokenize, CORS for browser clients (off unless --cors-allow-origin), and /openapi.json, made from the
// routes as they are registered (so it lists exactly what the server answers, with the same JSON Schemas).
/** Registers the CORS hook and starts collecting routes for /openapi.json: call before the other routes. */
export function extrasBeforeRoutes(app: FastifyInstance, ctx: ServeContext): RouteOptions[] {
  const routes: RouteOptions[] = [];
  app.addHook("onRoute", (route) => {
    if (route.method !== "HEAD") routes.push(route);
  });
  const origin = ctx.options.corsAllowOrigin;
  if (origin !== undefined) {
    app.addHook("onRequest", async (request, reply) => {
      reply.header("access-control-allow-origin", origin);
      if (origin !== "*") reply.header("vary", "origin");
      if (request.method === "OPTIONS") {
        // A preflight carries no credentials: it is answered before the API key is asked for.
        await reply
          .code(204)
          .headers({ "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": "content-type, authorization", "access-control-max-age": "600" })
          .send();
      }
    });
  }
  return routes;
}

export function extrasRoutes(app: FastifyInstance, ctx: ServeContext, routes: RouteOptions[]): void {
  // Under the embedding routes' limits: its answer grows with the inputs, and tokenizing them holds the event loop.
  app.post<{ Body: TokenizeBody }>("/tokenize", { schema: { body: tokenizeSchema }, preHandler: ctx.admit }, async (request) => {
    const { add_special_tokens: special } = request.body;
    const inputs = typeof request.body.inputs === "string" ? [request.body.inputs] : request.body.inputs;
    checkClientBatchSize(ctx, inputs.length);
    const tokenizer = ctx.embedder.model.tokenizer;
    return inputs.map((text) => {
      const { ids, tokens } = tokenizer.encode(text, { maxLength: ctx.options.maxLength });
      // The encoding is always [CLS] … [SEP]; without special tokens, the word pieces between them.
      return special ? { ids, tokens } : { ids: ids.slice(1, -1), tokens: tokens.slice(1, -1) };
    });
  });
  app.get("/openapi.json", async () => openApiDocument(routes));
}

/** An OpenAPI 3.1 document of the registered routes, their bodies' JSON Schemas as the server validates them. */
export function openApiDocument(routes: readonly RouteOptions[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const body = (route.schema as { body?: object } | undefined)?.body;
    for (const method of [route.method].flat()) {
      (paths[route.url] ??= {})[method.toLowerCase()] = {
        operationId: `${method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
        ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
        responses: { "200": { description: "OK" }, default: { description: "An error, in the route's API style (OpenAI's on /v1/…, text-embeddings-inference's elsewhere)" } },
      };
    }
  }
  return { openapi: "3.1.0", info: { title: "specter2-tfjs serve", version: VERSION }, paths };
}
