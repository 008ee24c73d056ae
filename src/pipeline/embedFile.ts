// `specter2 embed` of one input file (or one shard's byte range of it) into one output: the engine loaded with
// the embed options, records streamed through embedRecords into a resumable sink, progress and a summary line.
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import type { EmbedTaskArgs } from "../cli/options";
import type { LinesBefore } from "../io/lines";
import { Specter2Error } from "../errors";
import type { ShardRange } from "../shard/ranges";
import { Specter2 } from "../specter2";
import type { EmbedRunSummary } from "./embedRecords";
import { embedRecords, InputError } from "./embedRecords";
import { inputItems } from "./inputItems";
import { countLines, ProgressReporter } from "./progress";
import type { OutputFormat } from "./sink";
import { EmbeddingSink } from "./sink";

export interface EmbedFileArgs extends EmbedTaskArgs {
  model: string;
  input: string;
  resume: boolean;
}

export interface EmbedTarget {
  output: string;
  format: OutputFormat;
  /** Prefix of the summary line ("shard 2/8: "). */
  label: string;
  range?: ShardRange;
  linesBefore?: LinesBefore;
  /** Non-blank lines to embed, if already being counted. */
  total?: Promise<number>;
}

export interface EmbedFileResult {
  summary: EmbedRunSummary;
  rows: number;
  dim: number | null;
  /** The adapter every row was embedded with (null: the bare base). */
  adapter: string | null;
}

/** What the summary line and warnings are written to; the CLI's stderr. */
export type Log = (line: string) => void;

export async function embedFile(args: EmbedFileArgs, target: EmbedTarget, log: Log): Promise<EmbedFileResult> {
  const started = Date.now();
  const model = await Specter2.load(args.model, {
    backend: args.backend,
    threads: args.threads,
    workers: args.workers,
    verify: args.verify,
    onWarning: (m) => log(`specter2: warning: ${m}`),
  });
  try {
    const adapter = model.resolveAdapter(args.adapter);
    const { range } = target;
    const sink = EmbeddingSink.open(target.output, target.format, args.resume, range && `bytes ${range.start}–${range.end} of ${resolve(args.input)} (${range.size} bytes)`);
    const errorsPath = `${target.output}.errors.jsonl`;
    const progress = new ProgressReporter(`${target.label}embedded`, sink.rowsWritten);
    if (args.input !== "-")
      (target.total ?? countLines(args.input)).then(
        (n) => progress.setTotal(n),
        () => undefined,
      );
    let summary;
    try {
      summary = await embedRecords(model, inputItems(args.input, model.tokenizer.sepToken, range, target.linesBefore), sink, {
        adapter,
        batchSize: args["batch-size"],
        maxLength: args["max-length"],
        window: Math.max(256, 32 * args["batch-size"]),
        onError: args["on-error"],
        onSkip: (line, error) => appendFileSync(errorsPath, `${JSON.stringify({ line, error })}\n`),
        onProgress: (done) => progress.update(done),
      });
    } catch (e) {
      progress.end();
      sink.close();
      if (e instanceof InputError) {
        const kept = `${sink.rowsWritten} embeddings before it are kept in ${target.output}.partial: fix the line and rerun with --resume, or use --on-error skip`;
        throw new Specter2Error("BAD_INPUT", `${e.message}\n${kept}`, { file: args.input, line: e.line }, { cause: e });
      }
      throw e;
    }
    progress.end();
    const result = { summary, rows: sink.rowsWritten, dim: sink.dim, adapter };
    sink.finish();
    const seconds = (Date.now() - started) / 1000;
    const done = summary.embedded;
    const which = args.adapter === undefined ? ` (the model's default)` : "";
    log(
      `${target.label}embedded ${done} inputs${summary.resumed ? ` (+${summary.resumed} from the interrupted run)` : ""}` +
        `${summary.skipped ? `, skipped ${summary.skipped} (see ${errorsPath})` : ""} in ${seconds.toFixed(1)} s` +
        ` (${(done / seconds).toFixed(2)}/s) with adapter ${adapter ?? "none"}${which} on ${model.runsOn} → ${target.output}`,
    );
    return result;
  } finally {
    await model.close();
  }
}
