// OpenAI-compatible embeddings: POST /v1/embeddings, GET /v1/models[/:id]. `model` names an adapter.
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context";
import { adapterLabel } from "../embedder";
import { embedRequest } from "../embedRequest";
import { normalized } from "../../engine/normalize";
import type { OpenAiEmbeddingsBody } from "../schemas";
import { openAiEmbeddingsSchema } from "../schemas";

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
