// For operators: readiness, what is served and with which limits, Prometheus metrics.
import type { FastifyInstance } from "fastify";
import { VERSION } from "../../node/version";
import { DEFAULT_CONNECTION_LIMITS } from "../connections";
import type { ServeContext } from "../context";
import { adapterLabel } from "../embedder";

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
