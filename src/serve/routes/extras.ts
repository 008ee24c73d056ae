// What a client of an embedding server expects besides embeddings, as text-embeddings-inference has them:
// POST /tokenize, CORS for browser clients (off unless --cors-allow-origin), and /openapi.json, made from the
// routes as they are registered (so it lists exactly what the server answers, with the same JSON Schemas).
import type { FastifyInstance, RouteOptions } from "fastify";
import { VERSION } from "../../node/version";
import type { ServeContext } from "../context";
import { checkClientBatchSize } from "../embedRequest";
import type { TokenizeBody } from "../schemas";
import { tokenizeSchema } from "../schemas";

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
