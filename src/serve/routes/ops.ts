// For operators: readiness, what is served and with which limits, Prometheus metrics.
import type { FastifyInstance } from "fastify";
import { converterName } from "../../../convert/converterVersion";
import type { ServeContext } from "../context";
import { BASE_MODEL } from "../embedder";

export function opsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get("/health", async (_request, reply) => {
    if (ctx.state.closing) return reply.code(503).send({ status: "shutting down" });
    if (!ctx.state.ready) return reply.code(503).send({ status: "loading" });
    return { status: "ok" };
  });

  app.get("/info", async () => {
    const d = ctx.embedder.model.description;
    const o = ctx.options;
    return {
      model: d.dir,
      base: d.base,
      adapters: d.adapters,
      base_model_name: BASE_MODEL,
      hidden_size: d.hiddenSize,
      backend: d.backend,
      workers: d.workers,
      limits: {
        max_length: o.maxLength,
        max_batch_tokens: o.maxBatchTokens,
        max_concurrent_requests: o.maxConcurrentRequests,
        max_client_batch_size: o.maxClientBatchSize,
        max_body_bytes: o.maxBodyBytes,
        request_timeout_s: o.requestTimeoutMs / 1000,
      },
      auth: o.apiKey !== undefined,
      version: converterName(),
    };
  });

  app.get("/metrics", async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
