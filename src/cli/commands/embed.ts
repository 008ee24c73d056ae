// `specter2 embed`: JSONL papers or queries → embeddings (JSONL or .npy), in input order, resumable;
// with --shard, one part of the input (an array task of a cluster job), merged by `specter2 merge`.
// The work is src/pipeline/embedFile.ts and src/shard/embedShard.ts, imported when the command runs.
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";
import { pickOptions } from "../../engine/options";
import { EMBED_TASK_OPTIONS } from "../../pipeline/embedOptions";
import type { OutputFormat } from "../../pipeline/sink";
import { SHARD_SPEC_HELP } from "../../shard/ranges";
import type { ArgsOf } from "../options";
import { checkArgs, optionValues, yargsOptions } from "../options";

const RESUME = pickOptions("resume");

interface EmbedArgs extends ArgsOf<typeof EMBED_TASK_OPTIONS>, ArgsOf<typeof RESUME> {
  model: string;
  input: string;
  output: string;
  format?: OutputFormat;
  shard?: string;
  "shard-count"?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: "embed",
  describe: "Embed papers ({title, abstract}) or queries ({text}) from JSONL; one embedding per input line, in input order",
  builder: (y) =>
    y
      .option("model", modelOption())
      .option("input", {
        type: "string",
        demandOption: true,
        nargs: 1,
        describe: "JSONL input, '-' for stdin; each line {title, abstract} or {text}, with an optional paper_id / id / corpus_id",
      })
      .option("output", {
        type: "string",
        demandOption: true,
        nargs: 1,
        describe:
          "Output file: .jsonl ({paper_id, embedding} per line) or .npy (float32 [n, hidden], ids in <name>.ids.jsonl); through a symlink, its target. " +
          "'-' (stdout), a FIFO or a device: JSONL streamed to it, nothing to resume",
      })
      .option("format", { choices: ["jsonl", "npy"] as const, describe: "Output format (default: from the output's extension, else jsonl)" })
      .options(yargsOptions(EMBED_TASK_OPTIONS))
      .options(yargsOptions(RESUME))
      .option("shard", {
        type: "string",
        describe: `Embed one part of the input file: ${SHARD_SPEC_HELP}. Writes <output>.parts/K-of-N.<format> and a done-record; \`specter2 merge\` joins the parts`,
      })
      .option("shard-count", { type: "number", describe: "Number of shards, for --shard k8s (required) and --shard slurm (array task ids are then the shard numbers)" })
      .check((a) => {
        if (a["shard-count"] !== undefined && a.shard === undefined) throw new Error("--shard-count goes with --shard slurm or --shard k8s");
        if (a.shard !== undefined && a.input === "-") throw new Error("--shard reads a byte range of a file; it cannot read stdin");
        return checkArgs(a, EMBED_TASK_OPTIONS);
      }),
  handler: async (args) => {
    const format: OutputFormat = args.format ?? (args.output.endsWith(".npy") ? "npy" : "jsonl");
    const options = { model: await modelDir(args.model), input: args.input, resume: args.resume, ...optionValues(args, EMBED_TASK_OPTIONS) };
    const shard = args.shard;
    if (shard === undefined) {
      const { embedFile } = await import("../../pipeline/embedFile");
      await embedFile(options, { output: args.output, format, label: "" }, log);
    } else {
      const { embedShard } = await import("../../shard/embedShard");
      await embedShard({ ...options, output: args.output, shard, shardCount: args["shard-count"] }, format, log);
    }
  },
};
