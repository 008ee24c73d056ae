// A sharded embedding as two Slurm jobs: an array whose task K runs `specter2 embed --shard slurm`
// (shard K of N), and a merge that runs only if every task succeeded. The scripts are written next to
// the output (FILE.slurm/) so that a single task can be resubmitted by hand (`sbatch --array=3 …`), and
// submitted with `sbatch --parsable`, which prints the job id. Assumes a filesystem shared by the nodes.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomicFile";
import type { EmbedTaskOptions } from "../pipeline/embedOptions";
import { embedTaskFlags } from "../pipeline/embedOptions";
import type { OutputFormat } from "../pipeline/sink";

export interface SlurmJob {
  /** Absolute paths: the jobs may start in another directory, on another node. */
  input: string;
  output: string;
  format: OutputFormat;
  shards: number;
  /** The model directory, absolute as the paths above. */
  model: string;
  /** What each task embeds with, passed on to it as `specter2 embed` flags. */
  embed: EmbedTaskOptions;
  partition?: string;
  time?: string;
  cpusPerTask: number;
  /** More `#SBATCH` options for both scripts, e.g. --account=abc or --mem=8G. */
  sbatchOptions: string[];
  /** The node binary and the CLI script the jobs run. */
  node: string;
  cli: string;
}

export interface Submitted {
  dir: string;
  embedScript: string;
  mergeScript: string;
  arrayJob: string;
  mergeJob: string;
  /** The --array value submitted. */
  tasks: string;
}

export function scriptDir(output: string): string {
  return `${output}.slurm`;
}

export function embedScript(job: SlurmJob): string {
  const dir = scriptDir(job.output);
  const shard = ["--shard", "slurm", "--shard-count", String(job.shards), "--resume"];
  const files = ["--input", job.input, "--output", job.output, "--format", job.format, "--model", job.model];
  return script(
    job,
    "embed",
    [`--array=0-${job.shards - 1}`, `--output=${join(dir, "embed-%A_%a.log")}`],
    ["embed", ...shard, ...files, ...embedTaskFlags(job.embed)],
    `task K embeds shard K of ${job.shards} of ${job.input} into ${job.output}.parts/; rerun one task with: sbatch --array=K ${join(dir, "embed.sbatch")}`,
  );
}

export function mergeScript(job: SlurmJob): string {
  return script(
    job,
    "merge",
    [`--output=${join(scriptDir(job.output), "merge-%j.log")}`],
    ["merge", "--output", job.output, "--format", job.format],
    `joins the ${job.shards} parts into ${job.output} once every shard is done`,
  );
}

function script(job: SlurmJob, name: string, own: string[], args: string[], what: string): string {
  const options = [`--job-name=specter2-${name}`, ...own, `--cpus-per-task=${job.cpusPerTask}`];
  if (job.partition !== undefined) options.push(`--partition=${job.partition}`);
  if (job.time !== undefined) options.push(`--time=${job.time}`);
  options.push(...job.sbatchOptions);
  return [
    "#!/bin/bash",
    `# Written by \`specter2 slurm submit\`: ${what}.`,
    ...options.map((o) => `#SBATCH ${sbatchWord(o)}`),
    "set -euo pipefail",
    "# A backend with threads of its own (native: oneDNN) uses the task's cores, not the whole node's.",
    "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    `exec ${[job.node, job.cli, ...args].map(shellQuote).join(" ")}`,
    "",
  ].join("\n");
}

/** sbatch reads #SBATCH lines with its own quoting: double quotes around a value with spaces. */
function sbatchWord(option: string): string {
  if (/[\n"]/.test(option)) throw new Error(`sbatch option ${JSON.stringify(option)}: newlines and double quotes cannot be written in an #SBATCH line`);
  return /\s/.test(option) ? option.replace(/^(--[^=]+=)?(.*)$/, (_m, key: string | undefined, value: string) => `${key ?? ""}"${value}"`) : option;
}

/** Writes both scripts and submits them; `only` resubmits some tasks (e.g. "3" or "1,5"), with a new merge. */
export function submit(job: SlurmJob, only?: string, sbatch = process.env.SPECTER2_SBATCH || "sbatch"): Submitted {
  const dir = scriptDir(job.output);
  mkdirSync(dir, { recursive: true });
  const embedPath = join(dir, "embed.sbatch");
  const mergePath = join(dir, "merge.sbatch");
  writeFileAtomic(embedPath, embedScript(job));
  writeFileAtomic(mergePath, mergeScript(job));
  const tasks = only ?? `0-${job.shards - 1}`;
  // --array on the command line overrides the script's; the task ids stay the shard numbers.
  const arrayJob = runSbatch(sbatch, [...(only === undefined ? [] : [`--array=${only}`]), embedPath]);
  // Without --kill-on-invalid-dep a merge whose array failed would wait in the queue forever.
  const mergeJob = runSbatch(sbatch, [`--dependency=afterok:${arrayJob}`, "--kill-on-invalid-dep=yes", mergePath]);
  return { dir, embedScript: embedPath, mergeScript: mergePath, arrayJob, mergeJob, tasks };
}

/** Checks an --only list against the shard count: task ids, comma-separated, or ranges a-b. */
export function parseOnly(only: string, shards: number): string {
  const items = only.split(",").map((s) => s.trim());
  for (const item of items) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    const [a, b] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!m || a > b || b >= shards) throw new Error(`--only ${only}: "${item}" is not a shard number or range a-b within 0…${shards - 1}`);
  }
  return items.join(",");
}

function runSbatch(sbatch: string, args: string[]): string {
  const r = spawnSync(sbatch, ["--parsable", ...args], { encoding: "utf8" });
  const command = [sbatch, "--parsable", ...args].map(shellQuote).join(" ");
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(`${command}: ${missing ? `${sbatch} not found (run this on a Slurm login node; SPECTER2_SBATCH names another sbatch)` : r.error.message}`);
  }
  if (r.status !== 0) throw new Error(`${command} failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  const id = r.stdout.trim().split("\n").pop()?.split(";")[0] ?? "";
  if (!/^\d+$/.test(id)) throw new Error(`${command}: expected a job id, got ${JSON.stringify(r.stdout.trim())}`);
  return id;
}

/** Quotes a word for sh only when it needs it, so that the commands printed or written into scripts paste into sh as
 *  they are and stay readable. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
