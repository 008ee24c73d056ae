// `specter2 serve`: the model in worker threads (or on the main thread), every adapter chosen per request, over
// HTTP until SIGTERM/SIGINT.
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";
import { OPTIONS, pickOptions } from "../../engine/options";
import type { ArgsOf } from "../options";
import { checkArgs, yargsOption, yargsOptions } from "../options";

const ENGINE = pickOptions("backend", "workers", "threads", "precision", "maxLength");

interface ServeArgs extends ArgsOf<typeof ENGINE> {
  model: string;
  host: string;
  port: number;
  "max-batch-tokens": number;
  "mix-adapters": boolean;
  "pass-overhead-tokens"?: number;
  "cors-allow-origin"?: string;
  "max-concurrent-requests": number;
  "max-client-batch-size": number;
  "max-body-bytes": number;
  "request-timeout": number;
  "headers-timeout": number;
  "body-timeout": number;
  "max-connections": number;
  "shutdown-timeout": number;
  "api-key"?: string;
  "log-level": string;
}

const POSITIVE_INTEGERS = [
  "port",
  "max-batch-tokens",
  "max-concurrent-requests",
  "max-client-batch-size",
  "max-body-bytes",
  "request-timeout",
  "headers-timeout",
  "body-timeout",
  "max-connections",
  "shutdown-timeout",
] as const;

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: "serve",
  describe: "HTTP embedding service: OpenAI-compatible /v1/embeddings and TEI-style /embed, any loaded adapter per request",
  builder: (y) =>
    y
      .option("model", modelOption())
      .option("host", { type: "string", default: "127.0.0.1", describe: "Address to listen on (0.0.0.0 for every interface)" })
      .option("port", { type: "number", default: 8080, describe: "Port to listen on (0: any free port)" })
      .options({
        ...yargsOptions(ENGINE),
        workers: {
          ...yargsOption(OPTIONS.workers),
          describe: "Worker threads computing batches, so the event loop (/health, /metrics) never waits for a forward pass; 0: on the main thread",
        },
      })
      .option("max-batch-tokens", { type: "number", default: 4096, describe: "Padded tokens (inputs × longest input) per forward pass; requests are batched together under it" })
      .option("mix-adapters", {
        type: "boolean",
        default: true,
        describe: "Rows of different adapters share forward passes (each adapter runs on its own rows); --no-mix-adapters batches each adapter apart",
      })
      .option("pass-overhead-tokens", {
        type: "number",
        defaultDescription: "learned from the passes run",
        describe: "Padded tokens a row may add to join a batch: what one more forward pass costs beyond its tokens (0: equal lengths only)",
      })
      .option("cors-allow-origin", { type: "string", describe: "Answer browser clients from this origin (or *) with CORS headers; off by default" })
      .option("max-concurrent-requests", {
        type: "number",
        default: 64,
        describe: "Requests in flight at once on the routes that work per input (embeddings, /rank, /tokenize); more are refused with 429 and Retry-After",
      })
      .option("max-client-batch-size", { type: "number", default: 32, describe: "Inputs per request; more are refused with 413" })
      .option("max-body-bytes", { type: "number", default: 2 * 1024 * 1024, describe: "Request body size; larger bodies are refused with 413" })
      .option("request-timeout", { type: "number", default: 60, describe: "Seconds before an unanswered request gets 503 and leaves the queue" })
      .option("headers-timeout", { type: "number", default: 10, describe: "Seconds a connection may take to send its request line and headers; then 408 and it is closed" })
      .option("body-timeout", {
        type: "number",
        default: 30,
        describe: "Seconds a request body may take to arrive whole (a deadline, so a trickle is cut too); then 408 and the connection is closed",
      })
      .option("max-connections", {
        type: "number",
        default: 1024,
        describe: "Open connections at once; a new one takes the slot of the connection idle longest (one that never sent the API key first), or is closed at once if none is idle",
      })
      .option("shutdown-timeout", {
        type: "number",
        default: 30,
        describe: "On SIGTERM/SIGINT, seconds the requests already read may take to be answered before every connection is closed and the process exits",
      })
      .option("api-key", { type: "string", defaultDescription: "$SPECTER2_API_KEY", describe: "Require `Authorization: Bearer <key>` on every route but /health" })
      .option("log-level", { choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"], default: "info", describe: "JSON logs on stdout from this level up" })
      .check((a) => {
        for (const name of POSITIVE_INTEGERS) {
          const n = a[name];
          if (!Number.isInteger(n) || n < (name === "port" ? 0 : 1)) throw new Error(`--${name} must be a ${name === "port" ? "non-negative" : "positive"} integer, got ${n}`);
        }
        const overhead = a["pass-overhead-tokens"];
        if (overhead !== undefined && !(overhead >= 0)) throw new Error(`--pass-overhead-tokens must be a non-negative number, got ${overhead}`);
        return checkArgs(a, ENGINE);
      }),
  handler: async (args) => {
    const apiKey = args["api-key"] ?? process.env.SPECTER2_API_KEY;
    if (apiKey === "") throw new Error("the API key is empty; unset SPECTER2_API_KEY or give a key");
    const [{ Specter2 }, { createService }, { resolveMaxLength }] = await Promise.all([import("../../node/specter2"), import("../../serve/server"), import("../../engine/defaults")]);
    const model = await Specter2.load(await modelDir(args.model), {
      backend: args.backend,
      workers: args.workers,
      threads: args.threads,
      precision: args.precision,
      onWarning: (m) => process.stderr.write(`specter2: warning: ${m}\n`),
    });
    try {
      const maxLength = resolveMaxLength(args["max-length"], model.maxPositions);
      const service = createService(model, {
        maxLength,
        maxBatchTokens: args["max-batch-tokens"],
        mixAdapters: args["mix-adapters"],
        passOverheadTokens: args["pass-overhead-tokens"],
        corsAllowOrigin: args["cors-allow-origin"],
        maxConcurrentRequests: args["max-concurrent-requests"],
        maxClientBatchSize: args["max-client-batch-size"],
        maxBodyBytes: args["max-body-bytes"],
        requestTimeoutMs: args["request-timeout"] * 1000,
        headersTimeoutMs: args["headers-timeout"] * 1000,
        bodyTimeoutMs: args["body-timeout"] * 1000,
        maxConnections: args["max-connections"],
        shutdownTimeoutMs: args["shutdown-timeout"] * 1000,
        apiKey,
        logger: { level: args["log-level"] },
      });
      const log = service.app.log;
      await service.app.listen({ host: args.host, port: args.port });
      await service.warmUp();
      // Listening for the signals before saying "ready": a SIGTERM sent as soon as "ready" is read must drain, not
      // take the signal's default action.
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
      });
      log.info({ adapters: model.adapterNames, default_adapter: model.defaultAdapter, backend: model.backend.name, precision: model.precision, workers: model.workers }, "ready");
      const signal = await stopped;
      log.info({ signal, shutdown_timeout_s: args["shutdown-timeout"] }, "draining: no new connections, idle and unfinished ones closed, answering the requests already read");
      await service.close();
      log.info("stopped");
    } finally {
      await model.close();
    }
  },
};
