// One shard of `specter2 embed --shard`: its byte range of the input → its part, then the done-record that
// `specter2 merge` checks; nothing if the part is already done. The part's lock is held from the check that it is not
// done to its done-record: a second run of the same shard is refused at once.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { Specter2Error } from "../errors";
import { countLinesIn, LinesBefore } from "../io/lines";
import { OutputLock } from "../io/outputLock";
import { writeTarget } from "../io/writeTarget";
import { embedTaskFlags } from "../pipeline/embedOptions";
import type { EmbedFileOptions, Log } from "../pipeline/embedFile";
import { embedFile, embedFiles } from "../pipeline/embedFile";
import { refuseWritingInput } from "../pipeline/outputPaths";
import type { OutputFormat } from "../pipeline/sink";
import { errorsPathFor, idsPathFor } from "../pipeline/sink";
import type { DoneRecord, PartPaths } from "./parts";
import { digestFile, finishedPart, partPaths, partsDir, writeDoneRecord } from "./parts";
import type { Shard, ShardRange } from "./ranges";
import { shardRange, parseShardSpec, shardName } from "./ranges";

export interface ShardOptions extends EmbedFileOptions {
  /** The merged output; the shard writes its part in <output>.parts/. */
  output: string;
  /** Which shard: K/N, slurm or k8s (src/shard/spec.ts). */
  shard: string;
  /** The number of shards, where `shard` does not say it. */
  shardCount?: number;
}

export async function embedShard(args: ShardOptions, format: OutputFormat, log: Log): Promise<void> {
  const shard = parseShardSpec(args.shard, process.env, args.shardCount);
  const label = `shard ${shardName(shard)}: `;
  const range = await shardRange(args.input, shard.index, shard.count);
  const paths = partPaths(args.output, format, shard);
  // Before anything is written: neither this shard's files, nor what merge writes, nor the parts folder (where the
  // other shards write) may be the input.
  refuseWritingInput(
    args.input,
    [
      ...embedFiles(paths.data, format),
      { path: paths.done, what: "the shard's done-record" },
      { path: args.output, what: "the merged output" },
      ...(format === "npy" ? [{ path: idsPathFor(args.output), what: "the merged output's ids file" }] : []),
      { path: errorsPathFor(args.output), what: "the merged list of skipped lines" },
    ],
    { path: partsDir(args.output), what: "the parts folder" },
  );
  // What merge will write must be writable as a file: a directory, or a stream (merge writes the whole file at once,
  // from parts kept beside it), is refused now rather than after every shard ran.
  const merged = writeTarget(args.output);
  if (merged.kind === "stream") {
    throw new Specter2Error(
      "OUTPUT_ERROR",
      `--output ${args.output} is ${merged.what}: --shard writes parts beside --output for \`specter2 merge\` to join into it, so it must name a file`,
      {
        file: args.output,
        field: "output",
      },
    );
  }
  mkdirSync(partsDir(args.output), { recursive: true });
  const lock = OutputLock.acquire(paths.data);
  try {
    await embedPart(args, format, log, { shard, label, range, paths, lock });
  } finally {
    lock.release();
  }
}

interface Part {
  shard: Shard;
  label: string;
  range: ShardRange;
  paths: PartPaths;
  lock: OutputLock;
}

async function embedPart(args: ShardOptions, format: OutputFormat, log: Log, { shard, label, range, paths, lock }: Part): Promise<void> {
  const done = finishedPart(paths, { inputSize: range.size, range, format });
  if (done) {
    log(`${label}already done (${done.rows} embeddings, ${done.skipped} skipped, bytes ${range.start}–${range.end} of ${args.input}) → ${paths.data}; nothing to do`);
    return;
  }
  const linesBefore = new LinesBefore(args.input, range.start);
  const counting = countLinesIn(args.input, range);
  const result = await embedFile(args, { output: paths.data, format, label, range, linesBefore, total: counting.then((c) => c.nonBlank), lock }, log);
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
      maxLength: args.maxLength ?? null,
      // The adapter is recorded as resolved above; the rest as given, so that a rerun computes the same.
      options: embedTaskFlags(args, ["adapter"]),
    },
    finishedAt: new Date().toISOString(),
  };
  writeDoneRecord(paths.done, record);
  log(`${label}done: ${record.lines.count} lines (bytes ${range.start}–${range.end}), ${record.rows} embeddings, ${record.skipped} skipped → ${paths.done}`);
}
