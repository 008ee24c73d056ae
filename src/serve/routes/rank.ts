// POST /rank: SPECTER2's ad-hoc search in one request: the query embedded with adhoc_query, the candidate papers
// with proximity, in the same batches (the queue mixes adapters), ranked by ascending L2 distance as SciRepEval
// ranks (src/search/score.ts).
import type { FastifyInstance } from "fastify";
import { makeScorer } from "../../search/search";
import type { ServeContext } from "../context";
import { embedRequest } from "../embedRequest";
import { ApiError } from "../errors";
import type { RankBody } from "../schemas";
import { rankSchema } from "../schemas";

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
