// Sharded embedding through the real binary (dist/src/cli/main.js, built by `npm test`'s tsc step): shards
// run one by one, merged, against a single-process run of the same input; a shard killed mid-run and
// resumed; merge refusing missing, interrupted, corrupted and inconsistent parts; `slurm submit` against a
// fake sbatch, whose scripts are then run by hand as Slurm would run them. test/shard/slurm.test.ts does it on a
// real Slurm.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNpyHeader } from "../../src/io/npy";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const PAPERS = EXAMPLE_PAPERS;
const dir = mkdtempSync(join(tmpdir(), "specter2-shard-"));
const EMBED = ["embed", "--model", MODEL, "--adapter", "proximity", "--backend", "wasm"];

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = run(args, env);
  if (r.code !== 0) throw new Error(`specter2 ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return r;
}

interface CorpusOptions {
  /** Lines (0-based record numbers) written without an id: their id is the file's line number. */
  noId?: (i: number) => boolean;
  bad?: (i: number) => boolean;
  blankAfter?: (i: number) => boolean;
  eol?: string;
}

/** Papers of varied lengths (abstracts cut at record-dependent places), so batches pad differently. */
function corpus(name: string, n: number, o: CorpusOptions = {}): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = PAPERS[i % PAPERS.length];
    const abstract = p.abstract === null ? null : p.abstract.slice(0, (i * 37) % (p.abstract.length + 1));
    if (o.bad?.(i)) lines.push(`{"paper_id": "p${i}", broken`);
    else lines.push(JSON.stringify(o.noId?.(i) ? { title: `${i} ${p.title}`, abstract } : { paper_id: `p${i}`, title: `${i} ${p.title}`, abstract }));
    if (o.blankAfter?.(i)) lines.push("");
  }
  const path = join(dir, name);
  writeFileSync(path, lines.join(o.eol ?? "\n") + (o.eol ?? "\n"));
  return path;
}

type Row = { paper_id: string | number; embedding: number[] };
const readRows = (path: string): Row[] =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

function readNpy(path: string): { rows: number; cols: number; values: Float32Array } {
  const bytes = readFileSync(path);
  const { rows, cols, dataOffset } = parseNpyHeader(bytes, path);
  return { rows, cols, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataOffset, bytes.byteOffset + bytes.byteLength)) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const shardsOf = (input: string, output: string, n: number, extra: string[] = []) => {
  for (let k = 0; k < n; k++) ok([...EMBED, "--input", input, "--output", output, "--shard", `${k}/${n}`, ...extra]);
};

// Within a window, inputs are sorted by length into batches; a shard's windows start at other records
// than the single run's, so some papers sit in other batches with other padding. Padded keys get zero
// attention weight, but the sums over the longer rows are blocked differently by the kernels, which moves
// the last bits: measured max |Δ| 6e-7 to 1e-6 on this model (wasm, batches of 8, values of order 1). 1e-5 is
// that with room, and far below any real difference (a wrong or shifted row differs by ~1e-1).
const ROUNDING = 1e-5;

describe("specter2 embed --shard and merge", () => {
  it("with batches of 1 (the same batches as a single run), merged shards equal the single run byte for byte", () => {
    // Blank lines, CRLF, records without ids (their id is their file line number) across shard edges.
    const input = corpus("b1.jsonl", 60, { noId: (i) => i % 9 === 4, blankAfter: (i) => i % 11 === 3, eol: "\r\n" });
    const single = join(dir, "b1-single.jsonl");
    ok([...EMBED, "--input", input, "--output", single, "--batch-size", "1"]);
    for (const n of [3, 5]) {
      const out = join(dir, `b1-${n}.jsonl`);
      shardsOf(input, out, n, ["--batch-size", "1"]);
      const merged = ok(["merge", "--output", out]);
      expect(merged.stderr).toMatch(new RegExp(`merged ${n} parts \\(${60 + 6} lines\\): 60 embeddings in`));
      expect(readFileSync(out)).toEqual(readFileSync(single));
    }
    // Records without an id got their line number in the file, blank lines counted, in every shard.
    const noIdLines = readFileSync(input, "utf8")
      .split("\r\n")
      .flatMap((l, i) => (l.startsWith('{"title"') ? [i + 1] : []));
    expect(noIdLines).toHaveLength(7);
    expect(
      readRows(single)
        .filter((r) => typeof r.paper_id === "number")
        .map((r) => r.paper_id),
    ).toEqual(noIdLines);
  });

  it("more shards than lines: the empty parts merge like the others", () => {
    const input = corpus("few.jsonl", 3);
    const out = join(dir, "few.npy");
    shardsOf(input, out, 5);
    const rows = [0, 1, 2, 3, 4].map((k) => JSON.parse(readFileSync(join(`${out}.parts`, `${k}-of-5.done.json`), "utf8")).rows as number);
    expect(rows.filter((r) => r === 0).length).toBe(2);
    expect(ok(["merge", "--output", out]).stderr).toMatch(/part \d\/5: no lines, 0 embeddings, 0 skipped[\s\S]*merged 5 parts \(3 lines\): 3 embeddings/);
    const single = join(dir, "few-single.npy");
    ok([...EMBED, "--input", input, "--output", single]);
    expect(maxAbsDiff(readNpy(out).values, readNpy(single).values)).toBeLessThanOrEqual(ROUNDING); // one batch of 3 against three of 1
    expect(readFileSync(join(dir, "few.ids.jsonl"), "utf8")).toBe('"p0"\n"p1"\n"p2"\n');
  });

  it("a finished shard rerun does nothing and says so, without loading the model", () => {
    const input = corpus("again.jsonl", 20);
    const out = join(dir, "again.jsonl.out");
    ok([...EMBED, "--input", input, "--output", out, "--shard", "1/2"]);
    const before = readFileSync(join(`${out}.parts`, "1-of-2.done.json"), "utf8");
    const again = ok([...EMBED.map((a) => (a === MODEL ? join(dir, "no-model-needed") : a)), "--input", input, "--output", out, "--shard", "1/2"]);
    expect(again.stderr).toMatch(/^shard 1\/2: already done \(\d+ embeddings, 0 skipped, bytes \d+–\d+ of .*again\.jsonl\) → .*1-of-2\.jsonl; nothing to do\n$/);
    expect(readFileSync(join(`${out}.parts`, "1-of-2.done.json"), "utf8")).toBe(before);
  });

  it("with batches of 8, merged npy parts hold the single run's ids in order and its vectors within float rounding", () => {
    const input = corpus("b8.jsonl", 300, { noId: (i) => i % 50 === 7 });
    const single = join(dir, "b8-single.npy");
    ok([...EMBED, "--input", input, "--output", single]);
    const out = join(dir, "b8.npy");
    shardsOf(input, out, 4);
    expect(readdirSync(`${out}.parts`).sort()).toEqual(["0", "1", "2", "3"].flatMap((k) => [`${k}-of-4.done.json`, `${k}-of-4.ids.jsonl`, `${k}-of-4.npy`]).sort());
    ok(["merge", "--output", out]);
    expect(readFileSync(join(dir, "b8.ids.jsonl"), "utf8")).toBe(readFileSync(join(dir, "b8-single.ids.jsonl"), "utf8"));
    const a = readNpy(out);
    const b = readNpy(single);
    expect([a.rows, a.cols]).toEqual([300, 64]);
    const diff = maxAbsDiff(a.values, b.values);
    expect(diff).toBeLessThanOrEqual(ROUNDING);
    process.stdout.write(`shard.cli: merged vs single run, batches of 8, max |Δ| = ${diff}\n`);
  });

  it("--on-error skip: skipped lines add up per shard and the merged list names them as a single run does", () => {
    const input = corpus("bad.jsonl", 90, { bad: (i) => [2, 75, 88].includes(i), blankAfter: (i) => i === 40 });
    const single = join(dir, "bad-single.jsonl");
    ok([...EMBED, "--input", input, "--output", single, "--on-error", "skip"]);
    const out = join(dir, "bad-out.jsonl");
    shardsOf(input, out, 3, ["--on-error", "skip"]);
    const merged = ok(["merge", "--output", out]);
    expect(merged.stderr).toMatch(/part 0\/3: lines 1–\d+, \d+ embeddings, 1 skipped/);
    expect(merged.stderr).toMatch(/merged 3 parts \(91 lines\): 87 embeddings, skipped 3 \(shard 0: 1, shard 2: 2; see .*bad-out\.jsonl\.errors\.jsonl\)/);
    expect(readFileSync(`${out}.errors.jsonl`, "utf8")).toBe(readFileSync(`${single}.errors.jsonl`, "utf8"));
    expect(readRows(out).map((r) => r.paper_id)).toEqual(readRows(single).map((r) => r.paper_id));
    // A shard stops at a bad line by default, naming it by its line in the file.
    const failed = run([...EMBED, "--input", input, "--output", join(dir, "bad-fail.jsonl"), "--shard", "2/3"]);
    expect(failed.code).toBe(4); // BAD_INPUT
    expect(failed.stderr).toContain(`${input}:77: malformed JSON`);
    expect(failed.stderr).toMatch(/embeddings before it are kept in .*2-of-3\.jsonl\.partial/);
  });

  it("a shard killed mid-run resumes; merge refuses until it is done, then equals the single run", async () => {
    const input = corpus("kill.jsonl", 1200);
    const out = join(dir, "kill.jsonl.out");
    ok([...EMBED, "--input", input, "--output", out, "--shard", "0/2"]);
    const part = join(`${out}.parts`, "1-of-2.jsonl");
    const child = spawn(process.execPath, [BIN, ...EMBED, "--input", input, "--output", out, "--shard", "1/2"], { cwd: dir, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    while (!existsSync(`${part}.progress.json`)) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await exited;
    const done = JSON.parse(readFileSync(`${part}.progress.json`, "utf8")).rows as number;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(600);

    const refused = run(["merge", "--output", out]);
    expect(refused.code).toBe(7); // OUTPUT_ERROR
    expect(refused.stderr).toContain(`part 1/2: interrupted: ${done} embeddings in ${part}.partial, no done-record (resume it)`);
    expect(refused.stderr).toMatch(/specter2 embed --model .*specter2-tiny --input .*kill\.jsonl .*--shard 1\/2 --resume/);
    expect(existsSync(out)).toBe(false);

    expect(run([...EMBED, "--input", input, "--output", out, "--shard", "1/2"]).stderr).toMatch(/1-of-2\.jsonl\.partial is left from an interrupted run: pass --resume/);
    const resumed = ok([...EMBED, "--input", input, "--output", out, "--shard", "1/2", "--resume"]);
    expect(resumed.stderr).toContain(`(+${done} from the interrupted run)`);
    ok(["merge", "--output", out]);
    const single = join(dir, "kill-single.jsonl");
    ok([...EMBED, "--input", input, "--output", single]);
    const [a, b] = [readRows(out), readRows(single)];
    expect(a.map((r) => r.paper_id)).toEqual(b.map((r) => r.paper_id));
    expect(
      maxAbsDiff(
        a.flatMap((r) => r.embedding),
        b.flatMap((r) => r.embedding),
      ),
    ).toBeLessThanOrEqual(ROUNDING);
  });

  it("merge refuses a missing and a corrupted part, writes nothing, and the commands it prints repair it", () => {
    const input = corpus("repair.jsonl", 80);
    const out = join(dir, "repair.npy");
    shardsOf(input, out, 4);
    const parts = `${out}.parts`;
    for (const f of readdirSync(parts).filter((f) => f.startsWith("2-of-4."))) rmSync(join(parts, f));
    const data = readFileSync(join(parts, "1-of-4.npy"));
    data[data.length - 3] ^= 0x40; // one flipped bit in one float
    writeFileSync(join(parts, "1-of-4.npy"), data);

    const refused = run(["merge", "--output", out]);
    expect(refused.code).toBe(7); // OUTPUT_ERROR
    expect(refused.stderr).toContain(`cannot merge ${out}: nothing was written.`);
    expect(refused.stderr).toMatch(/part 1\/4: .*1-of-4\.npy: checksum mismatch .*corrupted or changed after it finished/);
    expect(refused.stderr).toContain("part 2/4: not run, or stopped before its first embeddings (no done-record)");
    expect(refused.stderr).not.toMatch(/part [03]\/4/);
    expect(readdirSync(dir).filter((f) => f.startsWith("repair.") || f.startsWith(".repair."))).toEqual(["repair.jsonl", "repair.npy.parts"]);

    // The printed commands, run as printed (with this checkout's binary for `specter2`).
    const commands = refused.stderr
      .split("\n")
      .filter((l) => /^ {2}(rm -f .* && )?specter2 embed /.test(l))
      .map((l) => l.trim());
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^rm -f .*1-of-4\.\* && specter2 embed .*--shard 1\/4 --resume$/);
    for (const c of commands) {
      const r = spawnSync("bash", ["-c", c.replace("specter2 embed", `${process.execPath} ${BIN} embed`)], { cwd: dir, encoding: "utf8" });
      expect(r.status).toBe(0);
    }
    ok(["merge", "--output", out]);
    const single = join(dir, "repair-single.npy");
    ok([...EMBED, "--input", input, "--output", single]);
    expect(readFileSync(join(dir, "repair.ids.jsonl"), "utf8")).toBe(readFileSync(join(dir, "repair-single.ids.jsonl"), "utf8"));
    expect(maxAbsDiff(readNpy(out).values, readNpy(single).values)).toBeLessThanOrEqual(ROUNDING);
  });

  it("merge refuses parts that do not tile the input, a changed input, and a corrupted ids file", () => {
    const input = corpus("tile.jsonl", 40);
    const out = join(dir, "tile.npy");
    shardsOf(input, out, 2);
    const donePath = join(`${out}.parts`, "0-of-2.done.json");
    const original = readFileSync(donePath, "utf8");
    const record = JSON.parse(original);
    writeFileSync(donePath, JSON.stringify({ ...record, range: { ...record.range, end: record.range.end - 5 } }));
    expect(run(["merge", "--output", out]).stderr).toMatch(/gap between part 0 \(ends at byte \d+\) and part 1 \(starts at byte \d+\)/);
    writeFileSync(donePath, original);

    const ids = join(`${out}.parts`, "1-of-2.ids.jsonl");
    const idsText = readFileSync(ids, "utf8");
    writeFileSync(ids, idsText.replace('"p39"', '"p93"'));
    expect(run(["merge", "--output", out]).stderr).toMatch(/part 1\/2: .*1-of-2\.ids\.jsonl: checksum mismatch/);
    writeFileSync(ids, idsText);

    writeFileSync(join(`${out}.parts`, "5-of-7.npy.partial"), "");
    expect(run(["merge", "--output", out]).stderr).toMatch(
      /tile\.npy\.parts: parts of runs with different shard counts: 2 \(6 files\), 7 \(1 files\); delete the files of the runs you do not want/,
    );
    rmSync(join(`${out}.parts`, "5-of-7.npy.partial"));

    writeFileSync(input, readFileSync(input, "utf8") + '{"paper_id": "late", "title": "added later"}\n');
    const changed = run(["merge", "--output", out]);
    expect(changed.code).toBe(7);
    expect(changed.stderr).toMatch(/tile\.jsonl is now \d+ bytes; the parts were made from \d+ bytes: it changed since/);
    expect(run(["merge", "--output", out, "--format", "jsonl"]).stderr).toMatch(/the parts are npy .*merge them with --format npy/);
    expect(existsSync(out)).toBe(false);
    // A rerun of a finished shard on the changed input refuses rather than mixing inputs.
    expect(run([...EMBED, "--input", input, "--output", out, "--shard", "0/2"]).stderr).toMatch(
      /0-of-2\.done\.json: this shard was done for bytes 0–\d+ of a \d+-byte input; the input is now/,
    );
  });

  it("a shard refuses an input that merge, it or another shard would write over, before writing anything", () => {
    const input = corpus("own.jsonl", 6);
    const original = readFileSync(input);
    const partsInput = join(dir, "own-out.jsonl.parts", "0-of-2.jsonl");
    const [idsInput, errorsInput] = [join(dir, "own.ids.jsonl"), join(dir, "own.errors.jsonl")];
    for (const p of [idsInput, errorsInput]) writeFileSync(p, original);
    const cases: [string, string, string, RegExp][] = [
      [input, input, "0/2", /the input .*own\.jsonl is the merged output .*own\.jsonl: embedding would overwrite it/],
      [idsInput, join(dir, "own.npy"), "1/2", /the input .*own\.ids\.jsonl is the merged output's ids file/],
      [errorsInput, join(dir, "own"), "0/2", /the input .*own\.errors\.jsonl is the merged list of skipped lines/],
    ];
    for (const [inp, out, shard, message] of cases) {
      const r = run([...EMBED, "--input", inp, "--output", out, "--shard", shard]);
      expect([r.code, r.stderr]).toEqual([7, expect.stringMatching(message)]);
      expect(existsSync(`${out}.parts`)).toBe(false);
    }
    expect(readFileSync(input)).toEqual(original);
    for (const p of [idsInput, errorsInput]) expect(readFileSync(p)).toEqual(original);
    // An input inside the parts folder (where every shard of the output writes), also as one shard's own part.
    ok([...EMBED, "--input", input, "--output", join(dir, "own-out.jsonl"), "--shard", "1/2"]);
    writeFileSync(partsInput, original);
    const inside = run([...EMBED, "--input", partsInput, "--output", join(dir, "own-out.jsonl"), "--shard", "1/2"]);
    expect([inside.code, inside.stderr]).toEqual([7, expect.stringMatching(/the input .*0-of-2\.jsonl is inside the parts folder .*own-out\.jsonl\.parts, which embedding writes/)]);
    const own = run([...EMBED, "--input", partsInput, "--output", join(dir, "own-out.jsonl"), "--shard", "0/2"]);
    expect([own.code, own.stderr]).toEqual([7, expect.stringMatching(/the input .*0-of-2\.jsonl is the output .*0-of-2\.jsonl/)]);
    expect(readFileSync(partsInput)).toEqual(original);
  });

  it("--shard takes K and N from Slurm's or Kubernetes' variables, and refuses stdin", () => {
    const input = corpus("env.jsonl", 12);
    const out = join(dir, "env.jsonl.out");
    expect(
      ok([...EMBED, "--input", input, "--output", out, "--shard", "slurm"], { SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_MIN: "4", SLURM_ARRAY_TASK_MAX: "6", SLURM_ARRAY_TASK_COUNT: "3" })
        .stderr,
    ).toMatch(/^shard 1\/3: /);
    expect(ok([...EMBED, "--input", input, "--output", out, "--shard", "k8s", "--shard-count", "3"], { JOB_COMPLETION_INDEX: "2" }).stderr).toMatch(/^shard 2\/3: /);
    const missing = run([...EMBED, "--input", input, "--output", out, "--shard", "slurm"], { SLURM_ARRAY_TASK_ID: "" });
    expect(missing.stderr).toMatch(/SLURM_ARRAY_TASK_ID is not set: --shard slurm runs as a task of a job array/);
    expect(run([...EMBED, "--input", "-", "--output", out, "--shard", "0/2"]).stderr).toMatch(/--shard reads a byte range of a file; it cannot read stdin/);
    expect(run(["merge", "--output", join(dir, "never.jsonl")]).stderr).toMatch(/never\.jsonl\.parts: not found, nothing to merge/);
  });
});

describe("specter2 slurm submit (fake sbatch)", () => {
  const fake = join(dir, "fake-sbatch");
  const calls = join(dir, "sbatch-calls.txt");
  writeFileSync(
    fake,
    `#!/bin/bash\necho "$@" >> '${calls}'\nn=$(wc -l < '${calls}')\nif [ -n "\${FAIL_SBATCH:-}" ]; then echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1; fi\necho "$((40 + n));cluster"\n`,
  );
  chmodSync(fake, 0o755);
  const env = { SPECTER2_SBATCH: fake };

  it("writes both scripts, submits the array then the merge after it, and the scripts run as Slurm would run them", () => {
    const input = corpus("slurm-fake.jsonl", 50, { noId: (i) => i % 10 === 0 });
    const out = join(dir, "slurm-fake.npy");
    const args = [
      "slurm",
      "submit",
      "--input",
      input,
      "--output",
      out,
      "--shards",
      "3",
      "--partition",
      "debug",
      "--time",
      "00:10:00",
      "--cpus-per-task",
      "2",
      "--sbatch-option=--mem=1G",
      "--model",
      MODEL,
      "--adapter",
      "proximity",
      "--batch-size",
      "4",
      "--backend",
      "wasm",
      "--threads",
      "1",
      "--workers",
      "1",
    ];
    const r = ok(args, env);
    expect(r.stdout).toMatch(/^submitted embed array job 41 \(tasks 0-2 of 0-2\) and merge job 42 \(starts when every task succeeded\)/);
    expect(r.stdout).toContain("squeue -j 41,42");
    const scripts = `${out}.slurm`;
    expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
      `--parsable ${scripts}/embed.sbatch`,
      `--parsable --dependency=afterok:41 --kill-on-invalid-dep=yes ${scripts}/merge.sbatch`,
    ]);
    const embed = readFileSync(join(scripts, "embed.sbatch"), "utf8");
    for (const line of [
      "#SBATCH --array=0-2",
      `#SBATCH --output=${scripts}/embed-%A_%a.log`,
      "#SBATCH --cpus-per-task=2",
      "#SBATCH --partition=debug",
      "#SBATCH --time=00:10:00",
      "#SBATCH --mem=1G",
    ])
      expect(embed).toContain(`${line}\n`);
    // Every embed option reaches the tasks (EMBED_TASK_OPTIONS, in its order), --threads and --workers included.
    expect(embed).toContain(
      `exec ${process.execPath} ${BIN} embed --shard slurm --shard-count 3 --resume --input ${input} --output ${out} --format npy --model ${MODEL} --adapter proximity --batch-size 4 --backend wasm --threads 1 --workers 1 --on-error fail\n`,
    );
    const merge = readFileSync(join(scripts, "merge.sbatch"), "utf8");
    expect(merge).toContain(`exec ${process.execPath} ${BIN} merge --output ${out} --format npy\n`);

    // Slurm runs task K of the array as the script with SLURM_ARRAY_TASK_ID=K (here the tasks run in turn).
    for (const k of [2, 0, 1]) {
      const task = spawnSync("bash", [join(scripts, "embed.sbatch")], {
        cwd: tmpdir(),
        encoding: "utf8",
        env: { ...process.env, SLURM_ARRAY_TASK_ID: String(k), SLURM_ARRAY_TASK_COUNT: "3", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_MAX: "2" },
      });
      expect(task.stderr).toMatch(new RegExp(`shard ${k}/3: done`));
    }
    expect(spawnSync("bash", [join(scripts, "merge.sbatch")], { cwd: tmpdir(), encoding: "utf8" }).stderr).toMatch(/merged 3 parts \(50 lines\): 50 embeddings/);
    const single = join(dir, "slurm-fake-single.npy");
    ok([...EMBED, "--input", input, "--output", single, "--batch-size", "4"]);
    expect(readFileSync(join(dir, "slurm-fake.ids.jsonl"), "utf8")).toBe(readFileSync(join(dir, "slurm-fake-single.ids.jsonl"), "utf8"));
    expect(maxAbsDiff(readNpy(out).values, readNpy(single).values)).toBeLessThanOrEqual(ROUNDING);

    // One task again: --only resubmits it (task id = shard number) with a new merge after it.
    rmSync(calls);
    expect(ok([...args, "--only", "1"], env).stdout).toMatch(/array job 41 \(tasks 1 of 0-2\) and merge job 42/);
    expect(readFileSync(calls, "utf8").trim().split("\n")[0]).toBe(`--parsable --array=1 ${scripts}/embed.sbatch`);
    expect(run([...args, "--only", "3"], env).stderr).toMatch(/--only 3: "3" is not a shard number or range a-b within 0…2/);
  });

  it("the example scripts in examples/slurm run as Slurm runs them", () => {
    const input = corpus("example.jsonl", 30);
    const out = join(dir, "example.npy");
    const vars = { ...process.env, SPECTER2: `${process.execPath} ${BIN}`, MODEL, INPUT: input, OUTPUT: out, SHARDS: "3" };
    for (const k of [0, 1, 2]) {
      const task = spawnSync("bash", [join(ROOT, "examples", "slurm", "embed.sbatch")], { cwd: dir, encoding: "utf8", env: { ...vars, SLURM_ARRAY_TASK_ID: String(k) } });
      expect(task.stderr).toMatch(new RegExp(`shard ${k}/3: done`));
    }
    const merge = spawnSync("bash", [join(ROOT, "examples", "slurm", "merge.sbatch")], { cwd: dir, encoding: "utf8", env: vars });
    expect(merge.stderr).toMatch(/merged 3 parts \(30 lines\): 30 embeddings/);
    expect(readFileSync(join(dir, "example.ids.jsonl"), "utf8")).toBe(Array.from({ length: 30 }, (_, i) => `"p${i}"\n`).join(""));
  });

  it("reports a failing or missing sbatch with the command and its message", () => {
    const input = corpus("slurm-fail.jsonl", 5);
    const args = ["slurm", "submit", "--input", input, "--output", join(dir, "slurm-fail.jsonl.out"), "--shards", "2", "--model", MODEL];
    const failed = run(args, { ...env, FAIL_SBATCH: "1" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/fake-sbatch --parsable .*embed\.sbatch failed \(exit 1\): sbatch: error: Batch job submission failed: Invalid partition name specified/);
    expect(run(args, { SPECTER2_SBATCH: join(dir, "no-sbatch") }).stderr).toMatch(/no-sbatch not found \(run this on a Slurm login node; SPECTER2_SBATCH names another sbatch\)/);
    expect(run([...args.slice(0, 3), join(dir, "missing.jsonl"), ...args.slice(4)], env).stderr).toMatch(/missing\.jsonl: not a file/);
  });
});
