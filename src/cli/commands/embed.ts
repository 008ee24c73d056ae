// `specter2 embed`: JSONL papers or queries → embeddings (JSONL or .npy), in input order, resumable.
import { appendFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { backendOption, checkMaxLength, maxLengthOption } from "../options";
import type { BackendChoice } from "../../backend/select";
import { readJsonlEntries, STDIN_SOURCE } from "../../io/jsonl";
import { toInputRecord } from "../../io/records";
import { embedRecords, InputError, InputItem, OnError } from "../../pipeline/embedRecords";
import { countLines, ProgressReporter } from "../../pipeline/progress";
import { EmbeddingSink, OutputFormat } from "../../pipeline/sink";
import { DEFAULT_BATCH_SIZE, Specter2 } from "../../specter2";

interface EmbedArgs {
  model: string;
  adapter?: string;
  input: string;
  output: string;
  format?: OutputFormat;
  "batch-size": number;
  "max-length"?: number;
  backend: BackendChoice;
  resume: boolean;
  "on-error": OnError;
  verify: boolean;
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: "embed",
  describe: "Embed papers ({title, abstract}) or queries ({text}) from JSONL; one embedding per input line, in input order",
  builder: (y) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "Converted model directory (from `specter2 convert`)" })
      .option("adapter", { type: "string", describe: "Adapter to use (e.g. proximity for papers, adhoc_query for queries); omit for the model's first adapter, 'none' for the bare base" })
      .option("input", { type: "string", demandOption: true, nargs: 1, describe: "JSONL input, '-' for stdin; each line {title, abstract} or {text}, with an optional paper_id / id / corpus_id" })
      .option("output", { type: "string", demandOption: true, describe: "Output file: .jsonl ({paper_id, embedding} per line) or .npy (float32 [n, hidden], ids in <name>.ids.jsonl)" })
      .option("format", { choices: ["jsonl", "npy"] as const, describe: "Output format (default: from the output's extension, else jsonl)" })
      .option("batch-size", { type: "number", default: DEFAULT_BATCH_SIZE, describe: "Inputs per forward pass (sorted by length first)" })
      .option("max-length", maxLengthOption)
      .option("backend", backendOption)
      .option("resume", { type: "boolean", default: false, describe: "Continue an interrupted run of the same output without re-embedding what is done" })
      .option("verify", { type: "boolean", default: false, describe: "Check every model file against the sha256 in its manifest.json before loading" })
      .option("on-error", { choices: ["fail", "skip"] as const, default: "fail" as OnError, describe: "A malformed line stops the run (fail; what is done is kept for --resume) or is recorded in <output>.errors.jsonl (skip)" })
      .check((a) => {
        if (!Number.isInteger(a["batch-size"]) || a["batch-size"] < 1) throw new Error(`--batch-size must be a positive integer, got ${a["batch-size"]}`);
        checkMaxLength(a);
        return true;
      }),
  handler: async (args) => {
    const format: OutputFormat = args.format ?? (args.output.endsWith(".npy") ? "npy" : "jsonl");
    const started = Date.now();
    const model = await Specter2.load(args.model, { backend: args.backend, verify: args.verify });
    try {
      const adapter = chooseAdapter(model, args.adapter);
      const sink = EmbeddingSink.open(args.output, format, args.resume);
      const errorsPath = `${args.output}.errors.jsonl`;
      const progress = new ProgressReporter("embedded", sink.rowsWritten);
      if (args.input !== "-") countLines(args.input).then((n) => progress.setTotal(n), () => undefined);
      let summary;
      try {
        summary = await embedRecords(model, inputItems(args.input, model.tokenizer.sepToken), sink, {
          adapter,
          batchSize: args["batch-size"],
          maxLength: args["max-length"],
          window: Math.max(256, 32 * args["batch-size"]),
          onError: args["on-error"],
          onSkip: (lineNumber, error) => appendFileSync(errorsPath, `${JSON.stringify({ line: lineNumber, error })}\n`),
          onProgress: (done) => progress.update(done),
        });
      } catch (e) {
        progress.end();
        sink.close();
        if (e instanceof InputError) {
          throw new Error(`${e.message}\n${sink.rowsWritten} embeddings before it are kept in ${args.output}.partial: fix the line and rerun with --resume, or use --on-error skip`);
        }
        throw e;
      }
      progress.end();
      sink.finish();
      const seconds = (Date.now() - started) / 1000;
      const done = summary.embedded;
      process.stderr.write(
        `embedded ${done} inputs${summary.resumed ? ` (+${summary.resumed} from the interrupted run)` : ""}` +
          `${summary.skipped ? `, skipped ${summary.skipped} (see ${errorsPath})` : ""} in ${seconds.toFixed(1)} s` +
          ` (${(done / seconds).toFixed(2)}/s) with adapter ${adapter ?? "none"} on ${model.backend.name} → ${args.output}\n`,
      );
    } finally {
      model.dispose();
    }
  },
};

/** The named adapter; by default the first one the model has (the converter's order), else the base. */
function chooseAdapter(model: Specter2, requested: string | undefined): string | null {
  if (requested === "none") return null;
  if (requested !== undefined) {
    model.adapters.get(requested); // throws naming the adapters there are
    return requested;
  }
  return model.adapters.names()[0] ?? null;
}

async function* inputItems(input: string, sep: string): AsyncGenerator<InputItem> {
  const source = input === "-" ? STDIN_SOURCE : input;
  for await (const entry of readJsonlEntries(input === "-" ? process.stdin : input, source)) {
    if ("error" in entry) {
      yield { lineNumber: entry.lineNumber, error: entry.error.message };
      continue;
    }
    try {
      yield { lineNumber: entry.lineNumber, ...toInputRecord(entry.value, { source, lineNumber: entry.lineNumber }, sep) };
    } catch (e) {
      yield { lineNumber: entry.lineNumber, error: (e as Error).message };
    }
  }
}
