// The main job: a stream of input records → embeddings in input order, written to a sink (resumable files, or a
// stream). Records are taken a window at a time; inside a window Specter2.embed sorts by token length, so
// padding stays small while memory stays bounded by the window, whatever the input's size. Skipped lines go to the
// sink with the window they were met in, so that its progress record covers both.
import type { OptionValue } from "../engine/options";
import { Specter2Error } from "../errors";
import type { ConsumedPrefix } from "../io/lines";
import type { Specter2 } from "../node/specter2";
import type { RecordId, RowSink } from "./sink";

/**
 * One input line: a paper or query text with its id, or the reason it cannot be embedded. lineNumber
 * orders the run and is what --resume records; for a shard it counts from its range's first line, so
 * a bad line also carries its line number in the file (fileLine), for the errors file.
 */
export type InputItem = { lineNumber: number; id: RecordId; text: string } | { lineNumber: number; fileLine: number; error: string };

/** What a bad line does: stops the run (fail) or is recorded and passed over (skip). */
export type OnError = OptionValue<"onError">;

export interface EmbedRunOptions {
  adapter: string | null;
  batchSize: number;
  /** Undefined: the model's default. */
  maxLength?: number;
  /** Unit-length vectors. */
  normalize?: boolean;
  /** Records per length-sorting window (and at most this many skipped lines are held before they are written). */
  window: number;
  onError: OnError;
  onProgress?: (done: number) => void;
  /** The input consumed through a line (InputDigest.through), recorded with each flush for a resume's check. */
  consumed?: (lastLine: number) => ConsumedPrefix;
}

export interface EmbedRunSummary {
  embedded: number;
  skipped: number;
  /** Records already done by an interrupted run that this one resumed. */
  resumed: number;
}

/** A line that cannot be embedded, with --on-error fail: what came before it is written. */
export class InputError extends Specter2Error {
  constructor(message: string, line: number) {
    super("BAD_INPUT", message, { line });
    this.name = "InputError";
  }
}

export async function embedRecords(model: Pick<Specter2, "embed">, items: AsyncIterable<InputItem>, sink: RowSink, options: EmbedRunOptions): Promise<EmbedRunSummary> {
  const summary: EmbedRunSummary = { embedded: 0, skipped: 0, resumed: sink.rowsWritten };
  const after = sink.resumedAfterLine;
  let window: { lineNumber: number; id: RecordId; text: string }[] = [];
  let skippedInWindow = 0;
  let lastLine = after;

  const flush = async () => {
    const vectors =
      window.length === 0
        ? []
        : await model.embed(
            window.map((r) => r.text),
            { adapter: options.adapter, batchSize: options.batchSize, maxLength: options.maxLength, normalize: options.normalize },
          );
    sink.write(
      window.map((r, i) => ({ id: r.id, embedding: vectors[i] })),
      lastLine,
      options.consumed?.(lastLine),
    );
    summary.embedded += window.length;
    window = [];
    skippedInWindow = 0;
    options.onProgress?.(summary.resumed + summary.embedded);
  };

  for await (const item of items) {
    if (item.lineNumber <= after) continue;
    if ("error" in item) {
      if (options.onError === "fail") {
        if (window.length > 0) await flush(); // keep everything before the bad line
        throw new InputError(item.error, item.fileLine);
      }
      sink.skip(item.fileLine, item.error);
      summary.skipped++;
      skippedInWindow++;
    } else {
      window.push(item);
    }
    lastLine = item.lineNumber;
    if (window.length >= options.window || skippedInWindow >= options.window) await flush();
  }
  if (window.length > 0 || skippedInWindow > 0) await flush();
  return summary;
}
