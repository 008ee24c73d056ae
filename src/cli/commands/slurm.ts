// `specter2 slurm submit`: a sharded embedding as a Slurm job array plus a merge that waits for it.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";
import { EMBED_TASK_OPTIONS } from "../../pipeline/embedOptions";
import type { OutputFormat } from "../../pipeline/sink";
import type { SlurmJob } from "../../slurm/submit";
import type { ArgsOf } from "../options";
import { checkArgs, optionValues, yargsOptions } from "../options";

interface SubmitArgs extends ArgsOf<typeof EMBED_TASK_OPTIONS> {
  model: string;
  input: string;
  output: string;
  format?: OutputFormat;
  shards: number;
  only?: string;
  partition?: string;
  time?: string;
  "cpus-per-task": number;
  "sbatch-option": string[];
}

const submitCommand: CommandModule<object, SubmitArgs> = {
  command: "submit",
  describe: "Write <output>.slurm/embed.sbatch (a job array: task K runs `embed --shard slurm`) and merge.sbatch, and submit both with sbatch, the merge after the array",
  builder: (y) =>
    y
      .option("input", { type: "string", demandOption: true, describe: "JSONL input on a filesystem every node sees" })
      .option("output", { type: "string", demandOption: true, describe: "Final output (.jsonl or .npy); parts go to <output>.parts/, scripts and logs to <output>.slurm/" })
      .option("shards", { type: "number", demandOption: true, describe: "Number of array tasks, one shard each" })
      .option("only", { type: "string", describe: "Resubmit only these tasks (e.g. 3 or 1,5-7), with a new merge; finished shards are never redone" })
      .option("partition", { type: "string", describe: "sbatch --partition" })
      .option("time", { type: "string", describe: "sbatch --time per task (e.g. 04:00:00)" })
      .option("cpus-per-task", { type: "number", default: 1, describe: "sbatch --cpus-per-task (the wasm backend uses one core per process)" })
      .option("sbatch-option", { type: "string", array: true, default: [] as string[], describe: "Another #SBATCH option for both jobs, e.g. --sbatch-option=--account=abc (repeatable)" })
      .option("model", modelOption("; a name is converted here once, and every task reads that directory"))
      .option("format", { choices: ["jsonl", "npy"] as const, describe: "As for embed" })
      // Every embed option, passed on to each task as given.
      .options(yargsOptions(EMBED_TASK_OPTIONS))
      .check((a) => {
        if (!Number.isInteger(a.shards) || a.shards < 1) throw new Error(`--shards must be a positive integer, got ${a.shards}`);
        if (!Number.isInteger(a["cpus-per-task"]) || a["cpus-per-task"] < 1) throw new Error(`--cpus-per-task must be a positive integer, got ${a["cpus-per-task"]}`);
        return checkArgs(a, EMBED_TASK_OPTIONS);
      }),
  handler: async (args) => {
    const { parseOnly, scriptDir, submit } = await import("../../slurm/submit");
    const input = resolve(args.input);
    if (!existsSync(input) || !statSync(input).isFile()) throw new Error(`${input}: not a file (the input must be a file every node can read)`);
    const model = resolve(await modelDir(args.model));
    if (!existsSync(model)) throw new Error(`${model}: no such model directory`);
    const cli = join(__dirname, "..", "main.js");
    if (!existsSync(cli)) throw new Error(`${cli}: not found; run the built CLI (npm run build)`);
    const output = resolve(args.output);
    const job: SlurmJob = {
      input,
      output,
      format: args.format ?? (output.endsWith(".npy") ? "npy" : "jsonl"),
      shards: args.shards,
      model,
      embed: optionValues(args, EMBED_TASK_OPTIONS),
      partition: args.partition,
      time: args.time,
      cpusPerTask: args["cpus-per-task"],
      sbatchOptions: args["sbatch-option"],
      node: process.execPath,
      cli,
    };
    const s = submit(job, args.only === undefined ? undefined : parseOnly(args.only, args.shards));
    const jobs = `${s.arrayJob},${s.mergeJob}`;
    process.stdout.write(
      [
        `submitted embed array job ${s.arrayJob} (tasks ${s.tasks} of 0-${args.shards - 1}) and merge job ${s.mergeJob} (starts when every task succeeded)`,
        `scripts and logs: ${scriptDir(output)}/ (embed-${s.arrayJob}_<task>.log, merge-${s.mergeJob}.log)`,
        `watch:  squeue -j ${jobs}`,
        `after:  sacct -j ${jobs} --format=JobID,JobName,State,Elapsed,ExitCode   (where Slurm accounting is on)`,
        `a failed or cancelled task cancels the merge; rerun it with this command plus --only <task>: finished shards are skipped, an interrupted one resumes`,
        "",
      ].join("\n"),
    );
  },
};

export const slurmCommand: CommandModule = {
  command: "slurm",
  describe: "Run a sharded embedding on a Slurm cluster (submit)",
  builder: (y) => y.command(submitCommand).demandCommand(1, "name a slurm command: submit"),
  handler: () => undefined,
};
