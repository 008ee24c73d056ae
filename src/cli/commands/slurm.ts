// `specter2 slurm submit`: a sharded embedding as a Slurm job array plus a merge that waits for it.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { backendOption, checkMaxLength, maxLengthOption } from "../options";
import type { BackendChoice } from "../../backend/select";
import type { OnError } from "../../pipeline/embedRecords";
import type { OutputFormat } from "../../pipeline/sink";
import { parseOnly, scriptDir, SlurmJob, submit } from "../../slurm/submit";
import { DEFAULT_BATCH_SIZE } from "../../specter2";

interface SubmitArgs {
  model: string;
  adapter?: string;
  input: string;
  output: string;
  format?: OutputFormat;
  shards: number;
  only?: string;
  partition?: string;
  time?: string;
  "cpus-per-task": number;
  "sbatch-option": string[];
  "batch-size": number;
  "max-length"?: number;
  backend: BackendChoice;
  "on-error": OnError;
  verify: boolean;
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
      .option("model", { type: "string", demandOption: true, describe: "Converted model directory, as for embed" })
      .option("adapter", { type: "string", describe: "As for embed" })
      .option("format", { choices: ["jsonl", "npy"] as const, describe: "As for embed" })
      .option("batch-size", { type: "number", default: DEFAULT_BATCH_SIZE, describe: "As for embed" })
      .option("max-length", maxLengthOption)
      .option("backend", backendOption)
      .option("on-error", { choices: ["fail", "skip"] as const, default: "fail" as OnError, describe: "As for embed" })
      .option("verify", { type: "boolean", default: false, describe: "As for embed" })
      .check((a) => {
        if (!Number.isInteger(a.shards) || a.shards < 1) throw new Error(`--shards must be a positive integer, got ${a.shards}`);
        if (!Number.isInteger(a["cpus-per-task"]) || a["cpus-per-task"] < 1) throw new Error(`--cpus-per-task must be a positive integer, got ${a["cpus-per-task"]}`);
        if (!Number.isInteger(a["batch-size"]) || a["batch-size"] < 1) throw new Error(`--batch-size must be a positive integer, got ${a["batch-size"]}`);
        checkMaxLength(a);
        return true;
      }),
  handler: (args) => {
    const input = resolve(args.input);
    if (!existsSync(input) || !statSync(input).isFile()) throw new Error(`${input}: not a file (the input must be a file every node can read)`);
    const model = resolve(args.model);
    if (!existsSync(model)) throw new Error(`${model}: no such model directory`);
    const cli = join(__dirname, "..", "main.js");
    if (!existsSync(cli)) throw new Error(`${cli}: not found; run the built CLI (npm run build)`);
    const output = resolve(args.output);
    const embedOptions = ["--model", model, "--batch-size", String(args["batch-size"]), "--backend", args.backend, "--on-error", args["on-error"]];
    if (args.adapter !== undefined) embedOptions.push("--adapter", args.adapter);
    if (args["max-length"] !== undefined) embedOptions.push("--max-length", String(args["max-length"]));
    if (args.verify) embedOptions.push("--verify");
    const job: SlurmJob = {
      input,
      output,
      format: args.format ?? (output.endsWith(".npy") ? "npy" : "jsonl"),
      shards: args.shards,
      embedOptions,
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
