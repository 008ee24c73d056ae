// Which shard this process embeds: `K/N` given outright, or read from the scheduler's environment, so
// that one command line serves every task of a Slurm job array or a Kubernetes Indexed Job.
//
// Shard K of N of a file: the byte range [boundary(K), boundary(K+1)), where boundary(k) is the first
// line start at or after ⌊k·size/N⌋. Every shard computes every boundary with the same function, so
// shard k's end is shard k+1's start: the ranges tile the file, and each line (known by its first byte)
// falls in exactly one. A shard reads a few bytes around its two boundaries to align them, then only
// its range. A line longer than size/N leaves a shard empty (both its boundaries move past it).
import { open, type FileHandle } from "node:fs/promises";
import type { ByteRange } from "../io/lines";
import { errnoOrText } from "../errors";

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export const SHARD_SPEC_HELP = "K/N (0-based, e.g. 3/8), slurm (a job array task) or k8s (an Indexed Job pod)";

/** `shardCount` is --shard-count: required for k8s; for slurm it makes array task ids the shard numbers. */
export function parseShardSpec(spec: string, env: NodeJS.ProcessEnv, shardCount?: number): Shard {
  if (shardCount !== undefined && (!Number.isSafeInteger(shardCount) || shardCount < 1)) throw new Error(`--shard-count must be a positive integer, got ${shardCount}`);
  const explicit = /^(\d+)\/(\d+)$/.exec(spec);
  if (explicit) {
    const shard = { index: Number(explicit[1]), count: Number(explicit[2]) };
    if (shardCount !== undefined && shardCount !== shard.count) throw new Error(`--shard ${spec} says ${shard.count} shards, --shard-count says ${shardCount}`);
    return checked(shard, `--shard ${spec}`);
  }
  if (spec === "slurm") return slurmShard(env, shardCount);
  if (spec === "k8s") {
    const index = envInteger(env, "JOB_COMPLETION_INDEX", "--shard k8s runs in a pod of an Indexed Job (completionMode: Indexed), which sets it");
    if (shardCount === undefined) throw new Error("--shard k8s needs --shard-count N, the Job's completions");
    return checked({ index, count: shardCount }, `JOB_COMPLETION_INDEX=${index} with --shard-count ${shardCount}`);
  }
  throw new Error(`--shard must be ${SHARD_SPEC_HELP}; got ${JSON.stringify(spec)}`);
}

/**
 * With --shard-count the array task id is the shard number, whatever the array holds: that is what
 * lets one task be resubmitted alone (`sbatch --array=3 embed.sbatch`), where Slurm would say the
 * array has 1 task. Without it the array must be one contiguous range and K = id - min, N = count.
 */
function slurmShard(env: NodeJS.ProcessEnv, shardCount: number | undefined): Shard {
  const why = "--shard slurm runs as a task of a job array (sbatch --array=0-<N-1>), which sets it";
  const id = envInteger(env, "SLURM_ARRAY_TASK_ID", why);
  if (shardCount !== undefined)
    return checked({ index: id, count: shardCount }, `SLURM_ARRAY_TASK_ID=${id} with --shard-count ${shardCount} (array task ids are the shard numbers 0…${shardCount - 1})`);
  const count = envInteger(env, "SLURM_ARRAY_TASK_COUNT", why);
  const min = envInteger(env, "SLURM_ARRAY_TASK_MIN", why);
  const max = env.SLURM_ARRAY_TASK_MAX === undefined ? min + count - 1 : envInteger(env, "SLURM_ARRAY_TASK_MAX", why);
  if (max - min + 1 !== count) {
    throw new Error(
      `--shard slurm: the job array is not one contiguous range (SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_MAX=${max}, SLURM_ARRAY_TASK_COUNT=${count}); pass --shard-count N and use the array task ids 0…N-1 as shard numbers`,
    );
  }
  return checked({ index: id - min, count }, `SLURM_ARRAY_TASK_ID=${id} in an array of ${min}…${max}`);
}

function envInteger(env: NodeJS.ProcessEnv, name: string, why: string): number {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set: ${why}`);
  if (!/^\d+$/.test(value.trim())) throw new Error(`${name}=${JSON.stringify(value)} is not a non-negative integer`);
  return Number(value.trim());
}

function checked(shard: Shard, from: string): Shard {
  if (!Number.isSafeInteger(shard.count) || shard.count < 1) throw new Error(`${from}: the shard count must be at least 1`);
  if (!Number.isSafeInteger(shard.index) || shard.index >= shard.count) throw new Error(`${from}: shard ${shard.index} is not in 0…${shard.count - 1}`);
  return shard;
}

export function shardName(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

const NEWLINE = 0x0a;

/** ⌊k·size/n⌋, exact for any file size (k·size can pass 2^53). */
export function nominalBoundary(size: number, k: number, n: number): number {
  return Number((BigInt(size) * BigInt(k)) / BigInt(n));
}

/** The first line start at or after `position`: `position` itself if the byte before it is "\n", else
 *  the byte after the next "\n" (the file's size if there is none). */
export async function lineStartAtOrAfter(file: FileHandle, position: number, size: number, bufferBytes = 64 << 10): Promise<number> {
  if (position <= 0) return 0;
  if (position >= size) return size;
  const buffer = Buffer.alloc(bufferBytes);
  for (let at = position - 1; at < size;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(bufferBytes, size - at), at);
    if (bytesRead === 0) break; // the file shrank under us: treat what is left as one last line
    const nl = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (nl !== -1) return at + nl + 1;
    at += bytesRead;
  }
  return size;
}

export interface ShardRange extends ByteRange {
  /** The file's size when the range was computed. */
  size: number;
}

/** The byte range of shard `index` (0-based) of `count`. */
export async function shardRange(path: string, index: number, count: number, bufferBytes?: number): Promise<ShardRange> {
  checkShard(index, count);
  return withFile(path, async (file, size) => ({
    start: await lineStartAtOrAfter(file, nominalBoundary(size, index, count), size, bufferBytes),
    end: await lineStartAtOrAfter(file, nominalBoundary(size, index + 1, count), size, bufferBytes),
    size,
  }));
}

/** Every shard's range, in order (for merge's check that the parts tile the file). */
export async function shardRanges(path: string, count: number, bufferBytes?: number): Promise<ShardRange[]> {
  checkShard(0, count);
  return withFile(path, async (file, size) => {
    const boundaries: number[] = [];
    for (let k = 0; k <= count; k++) boundaries.push(await lineStartAtOrAfter(file, nominalBoundary(size, k, count), size, bufferBytes));
    return boundaries.slice(0, -1).map((start, k) => ({ start, end: boundaries[k + 1], size }));
  });
}

function checkShard(index: number, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`shard count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new Error(`shard index must be an integer in 0…${count - 1}, got ${index}`);
}

async function withFile<T>(path: string, use: (file: FileHandle, size: number) => Promise<T>): Promise<T> {
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (e) {
    throw new Error(`${path}: cannot read (${errnoOrText(e)})`, { cause: e });
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new Error(`${path}: not a regular file; a shard needs a file it can seek in`);
    return await use(file, stat.size);
  } finally {
    await file.close();
  }
}
