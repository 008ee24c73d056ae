// `specter2 merge`: the parts of a sharded `specter2 embed --shard` run → one output, in input order.
import type { CommandModule } from "yargs";
import type { OutputFormat } from "../../pipeline/sink";

interface MergeArgs {
  output: string;
  format?: OutputFormat;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: "merge",
  describe: "Join the parts of `embed --shard` runs (<output>.parts/) into <output>, once every part is done and they add up",
  builder: (y) =>
    y
      .option("output", { type: "string", demandOption: true, describe: "The --output the shards were given; written atomically, only if every part checks out" })
      .option("format", { choices: ["jsonl", "npy"] as const, describe: "Format of the parts and the output (default: from the output's extension, else jsonl)" }),
  handler: async (args) => {
    const format: OutputFormat = args.format ?? (args.output.endsWith(".npy") ? "npy" : "jsonl");
    const started = Date.now();
    const { mergeParts } = await import("../../shard/merge");
    const merged = await mergeParts(args.output, format);
    for (const { record, firstLine, lastLine } of merged.parts) {
      const lines = record.lines.count === 0 ? "no lines" : `lines ${firstLine}–${lastLine}`;
      process.stderr.write(`  part ${record.shard.index}/${record.shard.count}: ${lines}, ${record.rows} embeddings, ${record.skipped} skipped\n`);
    }
    const skippedBy = merged.parts.filter((p) => p.record.skipped > 0).map((p) => `shard ${p.record.shard.index}: ${p.record.skipped}`);
    process.stderr.write(
      `merged ${merged.parts.length} parts (${merged.lines} lines): ${merged.rows} embeddings` +
        `${merged.skipped > 0 ? `, skipped ${merged.skipped} (${skippedBy.join(", ")}; see ${merged.errors})` : ""}` +
        ` in ${((Date.now() - started) / 1000).toFixed(1)} s → ${merged.output}\n`,
    );
  },
};
