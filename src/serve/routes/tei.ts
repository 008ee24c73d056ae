// POST /embed in the style of text-embeddings-inference, plus an `adapter` field and a paper form
// ({papers: [{title, abstract}]}) embedded as SPECTER2's `title [SEP] abstract`.
import type { FastifyInstance } from "fastify";
import type { EmbedInput } from "../../engine/inputs";
import type { ServeContext } from "../context";
import { embedRequest } from "../embedRequest";
import { ApiError } from "../errors";
import { normalized } from "../../engine/normalize";
import type { TeiEmbedBody } from "../schemas";
import { teiEmbedSchema } from "../schemas";

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
