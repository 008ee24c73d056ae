// `specter2 embed`: JSONL papers or queries → embeddings (JSONL or .npy), in input order, resumable;
// with --shard, one part of the input (an array task of a cluster job), merged by `specter2 merge`.
import { appendFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { backendOption, checkMaxLength, checkThreads, maxLengthOption, threadsOption } from "../options";
import type { BackendChoice } from "../../backend/select";
import { countLinesIn, LinesBefore } from "../../io/lines";
import { embedRecords, EmbedRunSummary, InputError, OnError } from "../../pipeline/embedRecords";
import { inputItems } from "../../pipeline/inputItems";
import { countLines, ProgressReporter } from "../../pipeline/progress";
import { EmbeddingSink, OutputFormat } from "../../pipeline/sink";
import { digestFile, DoneRecord, finishedPart, partPaths, partsDir, writeDoneRecord } from "../../shard/parts";
import { ShardRange, shardRange } from "../../shard/ranges";
import { parseShardSpec, SHARD_SPEC_HELP, shardName } from "../../shard/spec";
import { unknownAdapter } from "../../model/adapterSet";
import { openEmbedModel } from "../../pipeline/embedModel";
import { DEFAULT_BATCH_SIZE } from "../../specter2";

export interface EmbedArgs {
  model: string;
  adapter?: string;
  input: string;
  output: string;
  format?: OutputFormat;
  "batch-size": number;
  "max-length"?: number;
  backend: BackendChoice;
  threads?: number;
  workers?: number;
  resume: boolean;
  "on-error": OnError;
  verify: boolean;
  shard?: string;
  "shard-count"?: number;
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
      .option("threads", threadsOption)
      .option("workers", { type: "number", describe: "Worker threads computing batches (default: 1 for native, which uses every core itself; one per core for wasm); 0: the main thread" })
      .option("resume", { type: "boolean", default: false, describe: "Continue an interrupted run of the same output without re-embedding what is done" })
      .option("verify", { type: "boolean", default: false, describe: "Check every model file against the sha256 in its manifest.json before loading" })
      .option("on-error", { choices: ["fail", "skip"] as const, default: "fail" as OnError, describe: "A malformed line stops the run (fail; what is done is kept for --resume) or is recorded in <output>.errors.jsonl (skip)" })
      .option("shard", { type: "string", describe: `Embed one part of the input file: ${SHARD_SPEC_HELP}. Writes <output>.parts/K-of-N.<format> and a done-record; \`specter2 merge\` joins the parts` })
      .option("shard-count", { type: "number", describe: "Number of shards, for --shard k8s (required) and --shard slurm (array task ids are then the shard numbers)" })
      .check((a) => {
        if (!Number.isInteger(a["batch-size"]) || a["batch-size"] < 1) throw new Error(`--batch-size must be a positive integer, got ${a["batch-size"]}`);
        if (a["shard-count"] !== undefined && a.shard === undefined) throw new Error("--shard-count goes with --shard slurm or --shard k8s");
        if (a.shard !== undefined && a.input === "-") throw new Error("--shard reads a byte range of a file; it cannot read stdin");
        checkMaxLength(a);
        checkThreads(a);
        if (a.workers !== undefined && (!Number.isInteger(a.workers) || a.workers < 0)) throw new Error(`--workers must be a non-negative integer, got ${a.workers}`);
        return true;
      }),
  handler: async (args) => {
    const format: OutputFormat = args.format ?? (args.output.endsWith(".npy") ? "npy" : "jsonl");
    if (args.shard === undefined) {
      await runEmbed(args, { output: args.output, format, label: "" });
    } else {
      await embedShard(args, format, args.shard);
    }
  },
};

interface RunTarget {
  output: string;
  format: OutputFormat;
  /** Prefix of the summary line ("shard 2/8: "). */
  label: string;
  range?: ShardRange;
  linesBefore?: LinesBefore;
  /** Non-blank lines to embed, if already being counted. */
  total?: Promise<number>;
}

interface RunResult {
  summary: EmbedRunSummary;
  rows: number;
  dim: number | null;
  adapter: string | null;
}

async function runEmbed(args: EmbedArgs, target: RunTarget): Promise<RunResult> {
  const started = Date.now();
  const model = await openEmbedModel(args.model, { backend: args.backend, threads: args.threads, verify: args.verify, workers: args.workers });
  try {
    const adapter = chooseAdapter(model.adapterNames, args.adapter);
    const { range } = target;
    const sink = EmbeddingSink.open(target.output, target.format, args.resume, range && `bytes ${range.start}–${range.end} of ${resolve(args.input)} (${range.size} bytes)`);
    const errorsPath = `${target.output}.errors.jsonl`;
    const progress = new ProgressReporter(`${target.label}embedded`, sink.rowsWritten);
    if (args.input !== "-") (target.total ?? countLines(args.input)).then((n) => progress.setTotal(n), () => undefined);
    let summary;
    try {
      summary = await embedRecords(model, inputItems(args.input, model.sepToken, range, target.linesBefore), sink, {
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
        throw new Error(`${e.message}\n${sink.rowsWritten} embeddings before it are kept in ${target.output}.partial: fix the line and rerun with --resume, or use --on-error skip`);
      }
      throw e;
    }
    progress.end();
    const result = { summary, rows: sink.rowsWritten, dim: sink.dim, adapter };
    sink.finish();
    const seconds = (Date.now() - started) / 1000;
    const done = summary.embedded;
    process.stderr.write(
      `${target.label}embedded ${done} inputs${summary.resumed ? ` (+${summary.resumed} from the interrupted run)` : ""}` +
        `${summary.skipped ? `, skipped ${summary.skipped} (see ${errorsPath})` : ""} in ${seconds.toFixed(1)} s` +
        ` (${(done / seconds).toFixed(2)}/s) with adapter ${adapter ?? "none"} on ${model.runsOn} → ${target.output}\n`,
    );
    return result;
  } finally {
    await model.close();
  }
}

/** One shard: its byte range of the input → its part, then the done-record; nothing if already done. */
async function embedShard(args: EmbedArgs, format: OutputFormat, spec: string): Promise<void> {
  const shard = parseShardSpec(spec, process.env, args["shard-count"]);
  const label = `shard ${shardName(shard)}: `;
  const range = await shardRange(args.input, shard.index, shard.count);
  const paths = partPaths(args.output, format, shard);
  const done = finishedPart(paths, { inputSize: range.size, range, format });
  if (done) {
    process.stderr.write(`${label}already done (${done.rows} embeddings, ${done.skipped} skipped, bytes ${range.start}–${range.end} of ${args.input}) → ${paths.data}; nothing to do\n`);
    return;
  }
  mkdirSync(partsDir(args.output), { recursive: true });
  const linesBefore = new LinesBefore(args.input, range.start);
  const counting = countLinesIn(args.input, range);
  const result = await runEmbed(args, { output: paths.data, format, label, range, linesBefore, total: counting.then((c) => c.nonBlank) });
  const counts = await counting;
  const [data, ids] = await Promise.all([digestFile(paths.data), paths.ids === null ? null : digestFile(paths.ids)]);
  const first = linesBefore.known === null || counts.lines === 0 ? null : linesBefore.known + 1;
  const record: DoneRecord = {
    version: 1,
    shard,
    inputSize: range.size,
    range: { start: range.start, end: range.end },
    lines: { count: counts.lines, nonBlank: counts.nonBlank, first, last: first === null ? null : first + counts.lines - 1 },
    rows: result.rows,
    // Every non-blank line of the range is either a row or a skipped line, whichever run handled it.
    skipped: counts.nonBlank - result.rows,
    format,
    dim: result.dim,
    bytes: { data: data.bytes, ids: ids?.bytes ?? null },
    sha256: { data: data.sha256, ids: ids?.sha256 ?? null },
    embed: {
      model: resolve(args.model),
      input: resolve(args.input),
      adapter: result.adapter,
      maxLength: args["max-length"] ?? null,
      batchSize: args["batch-size"],
      backend: args.backend,
      onError: args["on-error"],
    },
    finishedAt: new Date().toISOString(),
  };
  writeDoneRecord(paths.done, record);
  process.stderr.write(`${label}done: ${record.lines.count} lines (bytes ${range.start}–${range.end}), ${record.rows} embeddings, ${record.skipped} skipped → ${paths.done}\n`);
}

/** The named adapter; by default the first one the model has (the converter's order), else the base. */
function chooseAdapter(names: readonly string[], requested: string | undefined): string | null {
  if (requested === "none") return null;
  if (requested !== undefined && !names.includes(requested)) throw unknownAdapter(requested, names);
  return requested ?? names[0] ?? null;
}
