// One embedding request, whichever API it came through: limits, adapter, deadline, then the queue.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EmbedInput } from "../engine/inputs";
import type { ServeContext } from "./context";
import type { EmbedResult } from "./embedder";
import { adapterLabel } from "./embedder";
import { ApiError } from "./errors";

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
