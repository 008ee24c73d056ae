// Where `specter2 embed` writes, as a user points it, through the real binary (dist/src/cli/main.js, built by
// `npm test`'s tsc step): a symlink, stdout, a FIFO, a character device, a directory; two writers of one output; the
// list of skipped lines across reruns and resumes; a write that fails as on a full disk. Each case that names a
// file of /dev is tried first through a symlink in a scratch folder, so that a build replacing outputs by regular
// files fails there, before it could replace /dev/stdout or /dev/null.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { parseNpyHeader } from "../../src/io/npy";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";
import { makeFifo } from "../helpers/hostileFiles";
import { pausedWriter, readFifo, runWithFileSizeLimit, startProcess, waitFor } from "../helpers/hostileOutputs";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const PAPERS = join(ROOT, "examples", "papers.jsonl");
const EMBED = ["embed", "--model", MODEL, "--adapter", "proximity", "--backend", "wasm"];
const IDS = EXAMPLE_PAPERS.map((p) => p.paper_id);
const dir = mkdtempSync(join(tmpdir(), "specter2-output-"));

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const rowsIn = (text: string): { paper_id: string | number; embedding: number[] }[] =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
const idsIn = (text: string) => rowsIn(text).map((r) => r.paper_id);
const errorLines = (path: string) => rowsIn(readFileSync(path, "utf8")).map((e) => (e as unknown as { line: number }).line);

/** `n` papers with ids p0…; those for which `bad(i)` holds are malformed JSON (file line i + 1). */
function corpus(path: string, n: number, bad: (i: number) => boolean = () => false): string[] {
  const lines = Array.from({ length: n }, (_, i) => {
    const p = EXAMPLE_PAPERS[i % EXAMPLE_PAPERS.length];
    return bad(i) ? `{"paper_id": "p${i}", broken` : JSON.stringify({ paper_id: `p${i}`, title: `${i} ${p.title}`, abstract: p.abstract });
  });
  writeFileSync(path, `${lines.join("\n")}\n`);
  return Array.from({ length: n }, (_, i) => i)
    .filter((i) => !bad(i))
    .map((i) => `p${i}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("embed --output where the user points it", () => {
  it("a symlink is written through: its target gets the rows (ids and partial files beside the target), the link stays", () => {
    const sub = mkdtempSync(join(dir, "link-"));
    mkdirSync(join(sub, "data"));
    writeFileSync(join(sub, "data", "real.jsonl"), "the rows of an earlier run\n");
    symlinkSync("data/real.jsonl", join(sub, "out.jsonl"));
    symlinkSync("data/new.jsonl", join(sub, "dangling.jsonl"));
    symlinkSync("data/vectors.npy", join(sub, "vectors.npy"));
    for (const [link, target] of [
      ["out.jsonl", "data/real.jsonl"],
      ["dangling.jsonl", "data/new.jsonl"],
    ]) {
      const r = run([...EMBED, "--input", PAPERS, "--output", link], sub);
      expect([r.code, r.stderr]).toEqual([0, expect.stringContaining(`→ ${link}`)]);
      expect(readlinkSync(join(sub, link))).toBe(target);
      expect(idsIn(readFileSync(join(sub, target), "utf8"))).toEqual(IDS);
    }
    expect(run([...EMBED, "--input", PAPERS, "--output", "vectors.npy"], sub).code).toBe(0);
    expect(readlinkSync(join(sub, "vectors.npy"))).toBe("data/vectors.npy");
    expect(parseNpyHeader(readFileSync(join(sub, "data", "vectors.npy")), "vectors.npy")).toMatchObject({ rows: 13, cols: 64 });
    expect(readFileSync(join(sub, "data", "vectors.ids.jsonl"), "utf8")).toBe(IDS.map((id) => `${JSON.stringify(id)}\n`).join(""));
    // Nothing else beside the links or their targets: no partial, progress record or lock left.
    expect(readdirSync(sub).sort()).toEqual(["dangling.jsonl", "data", "out.jsonl", "vectors.npy"]);
    expect(readdirSync(join(sub, "data")).sort()).toEqual(["new.jsonl", "real.jsonl", "vectors.ids.jsonl", "vectors.npy"]);
  });

  it("stdout (`-`, /dev/stdout, /proc/self/fd/1, a link to /dev/stdout) gets the JSONL as a stream; --resume and .npy are refused with it", () => {
    const sub = mkdtempSync(join(dir, "stdout-"));
    symlinkSync("/dev/stdout", join(sub, "to-stdout.jsonl"));
    for (const output of ["to-stdout.jsonl", "-", "/proc/self/fd/1", "/dev/stdout"]) {
      const r = run([...EMBED, "--input", PAPERS, "--output", output], sub);
      expect([r.code, idsIn(r.stdout)]).toEqual([0, IDS]);
      expect(r.stderr).toMatch(/embedded 13 inputs/);
    }
    expect(readlinkSync(join(sub, "to-stdout.jsonl"))).toBe("/dev/stdout");
    expect(lstatSync("/dev/stdout").isSymbolicLink()).toBe(true);
    const resume = run([...EMBED, "--input", PAPERS, "--output", "-", "--resume"], sub);
    expect([resume.code, resume.stdout, resume.stderr]).toEqual([7, "", expect.stringContaining("--output -: stdout, written as a stream with no .partial file to resume")]);
    const npy = run([...EMBED, "--input", PAPERS, "--output", "/dev/stdout", "--format", "npy"], sub);
    expect([npy.code, npy.stdout, npy.stderr]).toEqual([7, "", expect.stringContaining("a .npy file's header holds its row count")]);
    expect(readdirSync(sub)).toEqual(["to-stdout.jsonl"]);
  });

  it("a FIFO is streamed to: its reader gets every row; with no reader yet, embed waits for one, saying so", async () => {
    const sub = mkdtempSync(join(dir, "fifo-"));
    const fifo = join(sub, "rows.jsonl");
    makeFifo(fifo);
    /** The reader's output, once the writer is done (a reader that never saw a writer is stopped 5 s after). */
    const delivered = async (reader: ReturnType<typeof readFifo>, writer: ReturnType<typeof startProcess>) => {
      const w = await writer.exited;
      const stop = sleep(5000).then(() => reader.child.kill("SIGKILL"));
      const r = await reader.exited;
      void stop;
      return { writer: w, rows: idsIn(r.stdout) };
    };
    const reader = readFifo(fifo);
    const writer = startProcess(process.execPath, [BIN, ...EMBED, "--input", PAPERS, "--output", fifo], { cwd: sub });
    const first = await delivered(reader, writer);
    expect([first.writer.code, first.rows]).toEqual([0, IDS]);
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    const waiting = startProcess(process.execPath, [BIN, ...EMBED, "--input", PAPERS, "--output", fifo], { cwd: sub });
    let ended = false;
    void waiting.exited.then(() => (ended = true));
    await waitFor(() => ended || waiting.stderr().includes(`waiting for a reader to open ${fifo}`), "embed to wait for a reader");
    expect(ended).toBe(false);
    const late = await delivered(readFifo(fifo), waiting);
    expect([late.writer.code, late.rows]).toEqual([0, IDS]);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(sub)).toEqual(["rows.jsonl"]);
  });

  it("a character device is streamed to: /dev/null takes the rows; /dev/full fails as a full disk does, OUTPUT_ERROR naming it (exit 7)", () => {
    const sub = mkdtempSync(join(dir, "device-"));
    symlinkSync("/dev/full", join(sub, "full.jsonl"));
    const viaLink = run([...EMBED, "--input", PAPERS, "--output", "full.jsonl"], sub);
    expect([viaLink.code, viaLink.stderr]).toEqual([7, expect.stringContaining("cannot write full.jsonl: ENOSPC: no space left on device, write")]);
    expect(readlinkSync(join(sub, "full.jsonl"))).toBe("/dev/full");
    const full = run([...EMBED, "--input", PAPERS, "--output", "/dev/full"], sub);
    expect([full.code, full.stderr]).toEqual([7, expect.stringContaining("cannot write /dev/full: ENOSPC: no space left on device, write")]);
    expect(run([...EMBED, "--input", PAPERS, "--output", "/dev/null"], sub).code).toBe(0);
    expect([lstatSync("/dev/null").isCharacterDevice(), lstatSync("/dev/full").isCharacterDevice()]).toEqual([true, true]);
    expect(readdirSync(sub)).toEqual(["full.jsonl"]);
  });

  it("a directory is refused before the model loads (OUTPUT_ERROR naming it, exit 7), with or without --shard, writing nothing", () => {
    const sub = mkdtempSync(join(dir, "dir-"));
    mkdirSync(join(sub, "out.jsonl"));
    symlinkSync("out.jsonl", join(sub, "link-to-dir"));
    // No model there: refusing the output first is exit 7; loading the model first would be exit 3 (MODEL_NOT_FOUND).
    for (const args of [
      ["--output", "out.jsonl"],
      ["--output", "link-to-dir"],
      ["--output", "out.jsonl", "--shard", "0/2"],
    ]) {
      const r = run(["embed", "--model", join(sub, "no-model"), "--input", PAPERS, ...args], sub);
      expect([r.code, r.stderr]).toEqual([7, expect.stringMatching(new RegExp(`specter2: ${args[1]} (\\(.*out\\.jsonl, where its symlinks lead\\) )?is a directory`))]);
    }
    const withModel = run([...EMBED, "--input", PAPERS, "--output", "out.jsonl"], sub);
    expect([withModel.code, withModel.stderr]).toEqual([7, expect.not.stringContaining("embedded")]);
    expect(readdirSync(sub).sort()).toEqual(["link-to-dir", "out.jsonl"]);
    expect(readdirSync(join(sub, "out.jsonl"))).toEqual([]);
  });
});

describe("two writers of one output", () => {
  it("a second embed of an output being written is refused at once, naming the first; the first finishes with every row once", async () => {
    const sub = mkdtempSync(join(dir, "lock-"));
    const ids = corpus(join(sub, "in.jsonl"), 600);
    const out = join(sub, "out.jsonl");
    const args = [BIN, ...EMBED, "--input", "in.jsonl", "--output", "out.jsonl", "--resume"];
    const first = await pausedWriter(process.execPath, args, () => existsSync(`${out}.partial`), sub);
    try {
      const second = run(args.slice(1), sub);
      expect([second.code, second.stderr]).toEqual([7, expect.stringContaining(`out.jsonl is being written by another run: pid ${first.child.pid} on host ${hostname()}`)]);
      expect(second.stderr).not.toContain("embedded");
      first.resume();
      const done = await first.exited;
      expect([done.code, done.stderr]).toEqual([0, expect.stringContaining("embedded 600 inputs")]);
      expect(idsIn(readFileSync(out, "utf8"))).toEqual(ids);
      expect(readdirSync(sub).sort()).toEqual(["in.jsonl", "out.jsonl"]);
    } finally {
      first.kill();
    }
  });

  it("a lock left by a run killed on this host is taken over; one of another host is honoured, naming it and how to remove the lock", async () => {
    const sub = mkdtempSync(join(dir, "stale-"));
    const out = join(sub, "out.jsonl");
    const args = [...EMBED, "--input", PAPERS, "--output", "out.jsonl", "--resume"];
    const killed = await pausedWriter(process.execPath, [BIN, ...args], () => existsSync(`${out}.partial`), sub);
    killed.kill();
    await killed.exited;
    expect(existsSync(`${out}.lock`)).toBe(true);
    const lock = JSON.parse(readFileSync(`${out}.lock`, "utf8")) as { pid: number; host: string };
    expect(lock).toMatchObject({ pid: killed.child.pid, host: hostname() });
    const resumed = run(args, sub);
    expect(resumed.code).toBe(0);
    expect(idsIn(readFileSync(out, "utf8"))).toEqual(IDS);
    expect(existsSync(`${out}.lock`)).toBe(false);

    // The same lock as a run on another machine leaves it: whether that run is alive cannot be told from here.
    writeFileSync(`${out}.lock`, JSON.stringify({ ...lock, host: "node-17" }));
    const refused = run(args, sub);
    expect([refused.code, refused.stderr]).toEqual([7, expect.stringContaining(`out.jsonl is being written by another run: pid ${lock.pid} on host node-17`)]);
    expect(refused.stderr).toContain(`rm ${out}.lock`);
    expect(existsSync(`${out}.lock`)).toBe(true);
  });
});

describe("shards and merge", () => {
  it("a second run of a shard being embedded is refused at once, naming the first, which then records its part; merge joins the parts", async () => {
    const sub = mkdtempSync(join(dir, "shard-lock-"));
    const ids = corpus(join(sub, "in.jsonl"), 600);
    const shard = (k: number) => [...EMBED, "--input", "in.jsonl", "--output", "out.npy", "--shard", `${k}/2`, "--resume"];
    const part = join(sub, "out.npy.parts", "0-of-2.npy");
    const first = await pausedWriter(process.execPath, [BIN, ...shard(0)], () => existsSync(`${part}.partial`), sub);
    try {
      const second = run(shard(0), sub);
      expect([second.code, second.stderr]).toEqual([7, expect.stringContaining(`0-of-2.npy is being written by another run: pid ${first.child.pid} on host ${hostname()}`)]);
      first.resume();
      expect((await first.exited).code).toBe(0);
    } finally {
      first.kill();
    }
    expect(run(shard(1), sub).code).toBe(0);
    expect(run(["merge", "--output", "out.npy"], sub).code).toBe(0);
    expect(parseNpyHeader(readFileSync(join(sub, "out.npy")), "out.npy")).toMatchObject({ rows: 600, cols: 64 });
    expect(readFileSync(join(sub, "out.ids.jsonl"), "utf8")).toBe(ids.map((id) => `${JSON.stringify(id)}\n`).join(""));
  });

  it("merge writes through a symlink; a write that fails as on a full disk is OUTPUT_ERROR naming the file (exit 7), writing nothing", () => {
    const sub = mkdtempSync(join(dir, "merge-"));
    const ids = corpus(join(sub, "in.jsonl"), 40);
    mkdirSync(join(sub, "data"));
    symlinkSync("data/merged.jsonl", join(sub, "merged.jsonl"));
    for (const k of [0, 1]) expect(run([...EMBED, "--input", "in.jsonl", "--output", "merged.jsonl", "--shard", `${k}/2`], sub).code).toBe(0);
    const limited = runWithFileSizeLimit(8, process.execPath, [BIN, "merge", "--output", "merged.jsonl"], sub);
    expect([limited.code, limited.stderr]).toEqual([7, expect.stringContaining(`specter2: cannot write ${join(sub, "data", "merged.jsonl")}: EFBIG: file too large, write`)]);
    expect(readdirSync(join(sub, "data"))).toEqual([]);
    expect(run(["merge", "--output", "merged.jsonl"], sub).code).toBe(0);
    expect(readlinkSync(join(sub, "merged.jsonl"))).toBe("data/merged.jsonl");
    expect(idsIn(readFileSync(join(sub, "data", "merged.jsonl"), "utf8"))).toEqual(ids);
  });
});

describe("the list of skipped lines (<output>.errors.jsonl)", () => {
  it("a rerun with --on-error skip lists each bad line once; a rerun with nothing to skip leaves no list", () => {
    const sub = mkdtempSync(join(dir, "rerun-"));
    // The last line bad too: it is met after the last rows.
    const ids = corpus(join(sub, "in.jsonl"), 40, (i) => i % 10 === 3 || i === 39);
    const args = [...EMBED, "--input", "in.jsonl", "--output", "out.jsonl", "--on-error", "skip"];
    for (let i = 0; i < 2; i++) {
      expect(run(args, sub).code).toBe(0);
      expect(idsIn(readFileSync(join(sub, "out.jsonl"), "utf8"))).toEqual(ids);
      expect(errorLines(join(sub, "out.jsonl.errors.jsonl"))).toEqual([4, 14, 24, 34, 40]);
    }
    corpus(join(sub, "in.jsonl"), 40);
    expect(run(args, sub).code).toBe(0);
    expect(existsSync(join(sub, "out.jsonl.errors.jsonl"))).toBe(false);
  });

  it("a run killed mid-way (SIGKILL) and resumed lists each bad line once", async () => {
    const sub = mkdtempSync(join(dir, "killed-"));
    const bad = (i: number) => i % 10 === 3;
    const ids = corpus(join(sub, "in.jsonl"), 2000, bad);
    const out = join(sub, "out.jsonl");
    const args = [...EMBED, "--input", "in.jsonl", "--output", "out.jsonl", "--on-error", "skip"];
    const killed = startProcess(process.execPath, [BIN, ...args], { cwd: sub });
    await waitFor(() => existsSync(`${out}.progress.json`), "the first flush");
    await sleep(50); // the next window read (its bad lines met) and being embedded
    killed.child.kill("SIGKILL");
    await killed.exited;
    const done = JSON.parse(readFileSync(`${out}.progress.json`, "utf8")) as { rows: number };
    expect(done.rows).toBeGreaterThan(0);
    expect(done.rows).toBeLessThan(ids.length);

    const resumed = run([...args, "--resume"], sub);
    expect([resumed.code, resumed.stderr]).toEqual([0, expect.stringContaining(`(+${done.rows} from the interrupted run), skipped`)]);
    expect(idsIn(readFileSync(out, "utf8"))).toEqual(ids);
    const badLines = Array.from({ length: 2000 }, (_, i) => i)
      .filter(bad)
      .map((i) => i + 1);
    expect(errorLines(`${out}.errors.jsonl`)).toEqual(badLines);
  });
});

describe("a write that fails as on a full disk", () => {
  it("EFBIG past a file-size limit (ulimit -f) is OUTPUT_ERROR naming the file (exit 7); what was written stays for --resume", () => {
    const sub = mkdtempSync(join(dir, "full-"));
    const args = [...EMBED, "--input", PAPERS, "--output", "out.jsonl"];
    const limited = runWithFileSizeLimit(8, process.execPath, [BIN, ...args], sub);
    expect([limited.code, limited.stderr]).toEqual([7, expect.stringMatching(/specter2: cannot write out\.jsonl\.partial: EFBIG: file too large, write/)]);
    expect(existsSync(join(sub, "out.jsonl"))).toBe(false);
    const resumed = run([...args, "--resume"], sub);
    expect(resumed.code).toBe(0);
    expect(idsIn(readFileSync(join(sub, "out.jsonl"), "utf8"))).toEqual(IDS);
  });
});
