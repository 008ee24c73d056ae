// One input file (or one shard's byte range of it) into one output, for `specter2 embed` or a library caller: the
// engine loaded with the embed options, records streamed through embedRecords into a resumable sink (or a stream:
// stdout, a FIFO, a device), progress and a summary line. Before the model loads, the output is found
// (src/io/writeTarget.ts: through symlinks; a directory refused) and locked (src/io/outputLock.ts: one writer).
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { resolveMaxLength } from "../engine/defaults";
import { checkOption, OPTIONS } from "../engine/options";
import { STDIN_SOURCE } from "../io/jsonl";
import type { LinesBefore } from "../io/lines";
import { InputDigest } from "../io/lines";
import { Specter2Error } from "../errors";
import type { ModelDType } from "../weights/modelDir";
import { MANIFEST_FILE } from "../weights/modelDir";
import type { Precision } from "../model/config";
import { modelPath } from "../node/modelDirectory";
import { fileDigest } from "../io/fileHash";
import { lockPathFor, OutputLock } from "../io/outputLock";
import type { FileTarget, StreamTarget } from "../io/writeTarget";
import { openStream, writeTarget } from "../io/writeTarget";
import type { ShardRange } from "../shard/ranges";
import { Specter2 } from "../node/specter2";
import type { EmbedRunSummary } from "./embedRecords";
import { embedRecords, InputError } from "./embedRecords";
import { inputItems } from "./inputItems";
import type { EmbedTaskOptions } from "./embedOptions";
import { checkEmbedTaskOptions } from "./embedOptions";
import { countLines, ProgressReporter } from "./progress";
import { refuseSpecialOutputs, refuseWritingInput } from "./outputPaths";
import type { WrittenFile } from "./outputPaths";
import type { OutputFormat, RowSink, RunRecord } from "./sink";
import { EmbeddingSink, errorsPathFor, sinkFiles } from "./sink";
import { StreamSink } from "./streamSink";

export interface EmbedFileOptions extends EmbedTaskOptions {
  /** The model directory. */
  model: string;
  /** A JSONL file, or "-" for stdin. */
  input: string;
  /** Continue an interrupted run of the same output (default false). */
  resume?: boolean;
}

/** Every file embedFile writes for `output` (a file's path, its symlinks followed). */
export function embedFiles(output: string, format: OutputFormat): WrittenFile[] {
  return [...sinkFiles(output, format), { path: lockPathFor(output), what: "the output's lock" }];
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
  /** The output's lock, where the caller holds it already (a shard holds its part's from its check to its record). */
  lock?: OutputLock;
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

export async function embedFile(args: EmbedFileOptions, target: EmbedTarget, log: Log): Promise<EmbedFileResult> {
  checkEmbedTaskOptions(args);
  checkOption("resume", args.resume);
  const resume = args.resume ?? OPTIONS.resume.default;
  const where = writeTarget(target.output);
  if (where.kind === "stream") {
    refuseStreamOptions(where, target.format, resume);
    const stream = await openStream(where, () => log(`specter2: waiting for a reader to open ${where.path}…`));
    const sink = new StreamSink(streamName(where), stream.fd, stream.close, (line, error) => log(`specter2: skipped line ${line}: ${error}`));
    try {
      return await embedInto(args, target, where, sink, log);
    } finally {
      sink.close();
    }
  }
  const files = embedFiles(where.path, target.format);
  // The output by the name it was given (a symlink is the same file as its target), the others where they are written.
  refuseWritingInput(
    args.input,
    files.map((f) => (f.path === where.path && where.link !== undefined ? { ...f, path: where.link } : f)),
  );
  refuseSpecialOutputs(files);
  const lock = target.lock ?? OutputLock.acquire(where.path);
  try {
    return await embedInto(args, target, where, null, log);
  } finally {
    if (lock !== target.lock) lock.release();
  }
}

/** The work of embedFile, once its output is known (and locked, for a file): `stream` is the sink of a stream output,
 *  null for a file, whose sink opens once the model says what makes its rows. */
async function embedInto(args: EmbedFileOptions, target: EmbedTarget, where: FileTarget | StreamTarget, stream: StreamSink | null, log: Log): Promise<EmbedFileResult> {
  const started = Date.now();
  const batchSize = args.batchSize ?? OPTIONS.batchSize.default;
  const output = where.kind === "stream" ? streamName(where) : where.path;
  const inputSize = args.input === "-" ? null : statOrNull(args.input);
  const model = await Specter2.load(args.model, {
    backend: args.backend,
    threads: args.threads,
    workers: args.workers,
    precision: args.precision,
    verify: args.verify,
    onWarning: (m) => log(`specter2: warning: ${m}`),
  });
  try {
    const adapter = model.resolveAdapter(args.adapter);
    const { range } = target;
    const run: RunRecord = {
      model: { dir: resolve(args.model), manifestSha256: fileDigest(modelPath(args.model, MANIFEST_FILE)).sha256 },
      adapter,
      maxLength: resolveMaxLength(args.maxLength, model.maxPositions),
      normalize: args.normalize ?? OPTIONS.normalize.default,
      hiddenSize: model.hiddenSize,
      input: { path: args.input === "-" ? "-" : resolve(args.input), size: inputSize },
    };
    const source = range && `bytes ${range.start}–${range.end} of ${resolve(args.input)} (${range.size} bytes)`;
    const sink: RowSink = stream ?? EmbeddingSink.open(output, target.format, args.resume ?? OPTIONS.resume.default, source, run);
    const digest = new InputDigest(sink instanceof EmbeddingSink ? resumeCheck(sink, args.input, output, range) : null);
    const progress = new ProgressReporter(`${target.label}embedded`, sink.rowsWritten);
    if (args.input !== "-")
      (target.total ?? countLines(args.input)).then(
        (n) => progress.setTotal(n),
        () => undefined,
      );
    let summary;
    try {
      const items = inputItems(args.input, model.tokenizer.sepToken, range, target.linesBefore, { maxLineBytes: args.maxLineBytes, digest });
      summary = await embedRecords(model, items, sink, {
        adapter,
        batchSize,
        maxLength: args.maxLength,
        normalize: args.normalize,
        window: Math.max(256, 32 * batchSize),
        onError: args.onError ?? OPTIONS.onError.default,
        onProgress: (done) => progress.update(done),
        consumed: (line) => digest.through(line),
      });
    } catch (e) {
      progress.end();
      sink.close();
      if (e instanceof InputError) {
        const kept = stream
          ? `${sink.rowsWritten} embeddings before it were written to ${output}, a stream with nothing to resume: fix the line and run again, or use --on-error skip`
          : `${sink.rowsWritten} embeddings before it are kept in ${output}.partial: fix the line and rerun with --resume, or use --on-error skip`;
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
    const skippedTo = stream ? "reported above" : `see ${errorsPathFor(output)}`;
    const to = where.kind === "stream" ? output : where.link !== undefined ? `${where.link} (${where.path})` : target.output;
    log(
      `${target.label}embedded ${done} inputs${summary.resumed ? ` (+${summary.resumed} from the interrupted run)` : ""}` +
        `${summary.skipped ? `, skipped ${summary.skipped} (${skippedTo})` : ""} in ${seconds.toFixed(1)} s` +
        ` (${(done / seconds).toFixed(2)}/s) with adapter ${adapter ?? "none"}${which} on ${model.runsOn}, ${precisionText(model.precision, model.manifest.dtype)} → ${to}` +
        // Worker threads are threads of this process: its peak resident set is theirs too.
        `; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    return result;
  } finally {
    await model.close();
  }
}

/** Which precision ran, never silent: "precision fp32", "precision bf16 (reduced: not the fp32 parity
 *  guarantee)", and where the weights were stored reduced, that too. */
export function precisionText(precision: Precision, stored: ModelDType): string {
  const reducedStore = stored === "bfloat16" || stored === "int8";
  if (precision === "fp32")
    return reducedStore ? `precision fp32 on weights stored ${stored} (${stored === "int8" ? "dequantized" : "widened"} at load: not the fp32 parity guarantee)` : "precision fp32";
  return `precision ${precision} (reduced: not the fp32 parity guarantee)${reducedStore ? `, weights stored ${stored}` : ""}`;
}

function statOrNull(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null; // the reader names the missing file
  }
}

/**
 * For a resumed run, what its input must start with: the bytes the interrupted run consumed, hashed again as the
 * reader passes them (the reader reads them anyway to skip the lines done: no extra read). A difference stops the
 * run before anything is written, naming the lines that changed.
 */
function resumeCheck(sink: EmbeddingSink, input: string, output: string, range: ShardRange | undefined): ConstructorParameters<typeof InputDigest>[0] {
  const done = sink.resumedInput;
  if (done === null) return null;
  const lines = sink.resumedAfterLine;
  const name = input === "-" ? STDIN_SOURCE : input;
  const where = range ? `of bytes ${range.start}–${range.end} of ${name}` : `of ${name}`;
  return {
    ...done,
    mismatch: (detail) =>
      new Specter2Error(
        "OUTPUT_ERROR",
        `cannot resume ${output}.partial: line${lines === 1 ? " 1" : `s 1–${lines}`} ${where} changed since the interrupted run embedded them (${detail}); ` +
          `restore the input, or delete ${output}.partial and ${output}.progress.json to start again`,
        { file: input, field: "input" },
      ),
  };
}

/** How a stream is named in messages and errors' `file`: "<stdout>" for "-" (as stdin is "<stdin>"). */
function streamName(stream: StreamTarget): string {
  return stream.path === "-" ? "<stdout>" : stream.path;
}

/** A stream has no .partial file to resume and cannot hold a .npy (its header, written last, holds the row count). */
function refuseStreamOptions(stream: StreamTarget, format: OutputFormat, resume: boolean): void {
  const what = `--output ${stream.path}: ${stream.what}, written as a stream`;
  if (resume) throw new Specter2Error("OUTPUT_ERROR", `${what} with no .partial file to resume; run without --resume`, { file: streamName(stream), field: "resume" });
  if (format === "npy") {
    throw new Specter2Error("OUTPUT_ERROR", `${what}: a .npy file's header holds its row count, known only at the end; use --format jsonl, or a regular file`, {
      file: streamName(stream),
      field: "format",
    });
  }
}
