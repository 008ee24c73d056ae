// The real binary (dist/src/cli/main.js, built by `npm test`'s tsc step), spawned as a user runs it,
// on the embedded demo model and the example papers.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNpyHeader } from "../../src/io/npy";
import { Specter2 } from "../../src/node/specter2";
import { convertedRandomModel } from "../helpers/models";
import { NATIVE_BUILT } from "../helpers/nativeBackends";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const PAPERS = join(ROOT, "examples", "papers.jsonl");
const dir = mkdtempSync(join(tmpdir(), "specter2-cli-"));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readJsonl(path: string): { paper_id: string | number; embedding: number[] }[] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

const papers = readFileSync(PAPERS, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as { paper_id: string; title: string; abstract: string | null });

describe("specter2 CLI", () => {
  let expected: Float32Array[];

  beforeAll(async () => {
    // The library on the same backend and batching: the CLI must write exactly these vectors.
    const model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
    expected = await model.embed(papers, { adapter: "proximity", batchSize: 8 });
    await model.close();
  });

  it("--help loads no tfjs: commands import their implementations when they run", () => {
    // The process lists what it loaded as it exits; a command whose module imports tfjs eagerly shows up here.
    const probe = join(dir, "loaded.js");
    writeFileSync(probe, `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache))));`);
    for (const args of [["--help"], ["embed", "--help"], ["serve", "--help"], ["info", "--help"], ["slurm", "submit", "--help"]]) {
      const r = spawnSync(process.execPath, ["--require", probe, BIN, ...args], { encoding: "utf8", cwd: dir });
      expect(r.status).toBe(0);
      const loaded = JSON.parse(r.stderr.slice(r.stderr.indexOf("LOADED ") + 7)) as string[];
      expect(loaded.length).toBeGreaterThan(10); // the probe sees the CLI's own modules: it can fail
      expect(loaded.filter((m) => m.includes("@tensorflow"))).toEqual([]);
    }
  });

  it("--help lists every command and each command explains its options", () => {
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["embed", "search", "download", "convert", "info", "tokenize", "parity"]) expect(help.stdout).toContain(`specter2 ${c}`);
    const embedHelp = run(["embed", "--help"]).stdout;
    for (const o of ["--model", "--adapter", "--input", "--output", "--format", "--batch-size", "--max-length", "--backend", "--resume", "--on-error"]) expect(embedHelp).toContain(o);
  });

  it("embeds JSONL to JSONL in input order with the library's vectors", () => {
    const out = join(dir, "papers.jsonl");
    const r = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", PAPERS, "--output", out, "--backend", "wasm"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/embedded 13 inputs .* with adapter proximity on wasm/);
    const rows = readJsonl(out);
    expect(rows.map((x) => x.paper_id)).toEqual(papers.map((p) => p.paper_id));
    rows.forEach((row, i) => expect(row.embedding).toEqual(Array.from(expected[i])));
  });

  it("runs on the native backend by default where its addon is built (--threads sets its threads), else on wasm", () => {
    const out = join(dir, "papers-auto.jsonl");
    const r = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", PAPERS, "--output", out, "--threads", "1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`with adapter proximity on ${NATIVE_BUILT ? "native" : "wasm"}`));
    // Another backend sums in another order: the demo model's vectors (norm ~8) agree to float rounding.
    readJsonl(out).forEach((row, i) => row.embedding.forEach((x, k) => expect(Math.abs(x - expected[i][k])).toBeLessThan(1e-5)));
    const bad = run(["embed", "--model", MODEL, "--input", PAPERS, "--output", out, "--threads", "0"]);
    expect(bad.code).toBe(2); // a usage error (docs/errors.md)
    expect(bad.stderr).toContain("--threads must be an integer from 1 to 1024, got 0");
  });

  it("writes a float32 .npy that holds the same rows, with the ids beside it", () => {
    const out = join(dir, "papers.npy");
    expect(run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", PAPERS, "--output", out, "--backend", "wasm"]).code).toBe(0);
    const bytes = readFileSync(out);
    const { rows, cols, dataOffset } = parseNpyHeader(bytes, out);
    expect([rows, cols]).toEqual([13, 64]);
    expect(bytes.byteLength).toBe(dataOffset + rows * cols * 4);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataOffset, bytes.byteOffset + bytes.byteLength));
    expected.forEach((v, i) => expect(Array.from(values.subarray(i * cols, (i + 1) * cols))).toEqual(Array.from(v)));
    expect(
      readFileSync(join(dir, "papers.ids.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual(papers.map((p) => p.paper_id));
  });

  it("reads stdin with --input -", () => {
    const out = join(dir, "stdin.jsonl");
    const r = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", "-", "--output", out, "--backend", "wasm"], readFileSync(PAPERS, "utf8"));
    expect(r.code).toBe(0);
    expect(readJsonl(out).map((x) => x.embedding)).toEqual(expected.map((v) => Array.from(v)));
  });

  it("stops at a malformed line naming it, keeps what was done, and finishes with --resume --on-error skip", () => {
    const lines = readFileSync(PAPERS, "utf8").trim().split("\n");
    const input = join(dir, "bad.jsonl");
    writeFileSync(input, [...lines.slice(0, 4), "{not json", ...lines.slice(4)].join("\n") + "\n");
    const out = join(dir, "bad-out.jsonl");
    const failed = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", out, "--backend", "wasm"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/bad\.jsonl:5: malformed JSON/);
    expect(failed.stderr).toMatch(/4 embeddings before it are kept/);
    expect(existsSync(out)).toBe(false);

    const resumed = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", out, "--backend", "wasm", "--resume", "--on-error", "skip"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/embedded 9 inputs \(\+4 from the interrupted run\), skipped 1/);
    expect(readJsonl(out).map((x) => x.paper_id)).toEqual(papers.map((p) => p.paper_id));
    expect(readJsonl(`${out}.errors.jsonl`)).toEqual([{ line: 5, error: expect.stringMatching(/bad\.jsonl:5: malformed JSON/) }]);
  });

  it("skips bad records with --on-error skip, recording each with its line", () => {
    const input = join(dir, "mixed.jsonl");
    writeFileSync(input, ['{"paper_id": "a", "title": "One", "abstract": "x"}', '{"paper_id": "b", "title": 7}', '{"text": "a query"}', "[1, 2]", ""].join("\n"));
    const out = join(dir, "mixed-out.jsonl");
    const r = run(["embed", "--model", MODEL, "--input", input, "--output", out, "--on-error", "skip", "--backend", "cpu"]);
    expect(r.code).toBe(0);
    expect(readJsonl(out).map((x) => x.paper_id)).toEqual(["a", 3]);
    const errors = readJsonl(`${out}.errors.jsonl`) as unknown as { line: number; error: string }[];
    expect(errors.map((e) => e.line)).toEqual([2, 4]);
    expect(errors[0].error).toMatch(/"title" must be a string/);
  });

  it("resumes a run killed mid-way without redoing what was flushed, ending with every paper once", async () => {
    const input = join(dir, "many.jsonl");
    const count = 2000;
    writeFileSync(
      input,
      Array.from({ length: count }, (_, i) =>
        JSON.stringify({ paper_id: `p${i}`, title: `Paper ${i} about ${papers[i % papers.length].title}`, abstract: papers[i % papers.length].abstract }),
      ).join("\n") + "\n",
    );
    const out = join(dir, "many-out.jsonl");
    const args = [BIN, "embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", out, "--backend", "wasm"];
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    // Kill as soon as the first window is flushed (its progress record appears).
    while (!existsSync(`${out}.progress.json`)) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await exited;
    const done = JSON.parse(readFileSync(`${out}.progress.json`, "utf8")).rows as number;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(count);
    expect(existsSync(out)).toBe(false);

    const resumed = run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", out, "--backend", "wasm", "--resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`(+${done} from the interrupted run)`);
    const rows = readJsonl(out);
    expect(rows.map((r) => r.paper_id)).toEqual(Array.from({ length: count }, (_, i) => `p${i}`));
    // Same papers in other length-sorted batches after the resume: equal to a few ulps.
    const clean = join(dir, "many-clean.jsonl");
    expect(run(["embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", clean, "--backend", "wasm"]).code).toBe(0);
    const reference = readJsonl(clean);
    rows.forEach((r, i) => r.embedding.forEach((v, c) => expect(Math.abs(v - reference[i].embedding[c])).toBeLessThanOrEqual(1e-5)));
  });

  it("refuses an output that is its input, or one of the files written beside it, under any name, writing nothing", () => {
    const sub = mkdtempSync(join(dir, "same-"));
    const original = readFileSync(PAPERS);
    for (const name of ["same.jsonl", "x.ids.jsonl", "y.jsonl.progress.json", "z.jsonl.errors.jsonl", "w.ids.jsonl.partial"]) writeFileSync(join(sub, name), original);
    symlinkSync("same.jsonl", join(sub, "link.jsonl"));
    linkSync(join(sub, "same.jsonl"), join(sub, "hard.jsonl"));
    const before = readdirSync(sub).sort();
    const cases: [string, string, RegExp][] = [
      ["same.jsonl", "same.jsonl", /the input same\.jsonl is the output same\.jsonl: embedding would overwrite it/],
      ["same.jsonl", "./same.jsonl", /the input same\.jsonl is the output \.\/same\.jsonl: embedding would overwrite it/],
      ["x.ids.jsonl", "x.npy", /the input x\.ids\.jsonl is the output's ids file x\.ids\.jsonl/],
      ["link.jsonl", "same.jsonl", /the input link\.jsonl is the output same\.jsonl \(the same file under another name\)/],
      ["same.jsonl", "link.jsonl", /the input same\.jsonl is the output link\.jsonl \(the same file under another name\)/],
      ["hard.jsonl", "same.jsonl", /the input hard\.jsonl is the output same\.jsonl \(the same file under another name\)/],
      ["y.jsonl.progress.json", "y.jsonl", /the input y\.jsonl\.progress\.json is the output's progress record y\.jsonl\.progress\.json/],
      ["z.jsonl.errors.jsonl", "z.jsonl", /the input z\.jsonl\.errors\.jsonl is the output's list of skipped lines/],
      ["w.ids.jsonl.partial", "w.npy", /the input w\.ids\.jsonl\.partial is the ids file's partial file/],
    ];
    for (const [input, output, message] of cases) {
      const r = spawnSync(process.execPath, [BIN, "embed", "--model", MODEL, "--input", input, "--output", output, "--backend", "cpu", "--on-error", "skip"], { cwd: sub, encoding: "utf8" });
      expect([r.status, r.stderr]).toEqual([7, expect.stringMatching(message)]); // OUTPUT_ERROR
    }
    // Every input byte for byte as it was, and nothing written beside it (no partial, progress or ids file).
    for (const name of before.filter((n) => n !== "link.jsonl")) expect(readFileSync(join(sub, name))).toEqual(original);
    expect(readdirSync(sub).sort()).toEqual(before);
  });

  it("--resume refuses a partial output made by another model, adapter or input, naming what changed, and resumes an unchanged one", async () => {
    const lines = readFileSync(PAPERS, "utf8").trim().split("\n");
    const input = join(dir, "change.jsonl");
    const text = [...lines.slice(0, 4), "{not json", ...lines.slice(4)].join("\n") + "\n";
    writeFileSync(input, text);
    const out = join(dir, "change-out.jsonl");
    const embed = (model: string, adapter: string, ...extra: string[]) =>
      run(["embed", "--model", model, "--adapter", adapter, "--input", input, "--output", out, "--backend", "wasm", ...extra]);
    expect(embed(MODEL, "proximity").code).toBe(4); // stops at line 5 with 4 embeddings kept
    const partial = readFileSync(`${out}.partial`);
    const resume = ["--resume", "--on-error", "skip"];

    const adapter = embed(MODEL, "adhoc_query", ...resume);
    expect([adapter.code, adapter.stderr]).toEqual([7, expect.stringContaining("cannot resume: the adapter was proximity, now adhoc_query.")]);

    // The same model re-converted (another manifest), and a model of another width (rows of 64 and 96 values).
    const copy = join(dir, "model-copy");
    cpSync(MODEL, copy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(copy, "manifest.json"), "utf8"));
    writeFileSync(join(copy, "manifest.json"), JSON.stringify({ ...manifest, created: "2030-01-01T00:00:00.000Z" }, null, 2));
    const changed = embed(copy, "proximity", ...resume);
    expect([changed.code, changed.stderr]).toEqual([
      7,
      expect.stringMatching(/cannot resume: the model changed: manifest digest [0-9a-f]{64} \(.*specter2-tiny\), now [0-9a-f]{64} \(.*model-copy\)\./),
    ]);
    const wide = await convertedRandomModel({ hidden_size: 96, max_position_embeddings: 512 });
    const wider = embed(wide, "proximity", ...resume);
    expect([wider.code, wider.stderr]).toEqual([7, expect.stringMatching(/the model changed: manifest digest .*; rows were 64 values, this model makes 96\./)]);

    // Line 1 edited (same length): the prefix the partial output was made from is hashed again as it is read.
    writeFileSync(input, text.replace("Citation-informed transformers", "Citation-informed Transformers"));
    expect(readFileSync(input, "utf8")).not.toBe(text);
    const edited = embed(MODEL, "proximity", ...resume);
    expect([edited.code, edited.stderr]).toEqual([
      7,
      expect.stringMatching(
        /cannot resume .*change-out\.jsonl\.partial: lines 1–4 of .*change\.jsonl changed since the interrupted run embedded them \(the sha256 of its first \d+ bytes is/,
      ),
    ]);
    expect(readFileSync(`${out}.partial`)).toEqual(partial); // nothing appended by any refused resume

    writeFileSync(input, text);
    const resumed = embed(MODEL, "proximity", ...resume);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/embedded 9 inputs \(\+4 from the interrupted run\), skipped 1/);
    expect(readJsonl(out).map((x) => x.paper_id)).toEqual(papers.map((p) => p.paper_id));
  });

  it("a line over --max-line-bytes stops the run naming file and line, or is skipped and recorded with --on-error skip", () => {
    const lines = readFileSync(PAPERS, "utf8").trim().split("\n");
    const long = JSON.stringify({ paper_id: "long", title: "A long one", abstract: "word ".repeat(100) });
    const input = join(dir, "long.jsonl");
    writeFileSync(input, [...lines.slice(0, 2), long, ...lines.slice(2)].join("\n") + "\n");
    const out = join(dir, "long-out.jsonl");
    const args = ["embed", "--model", MODEL, "--adapter", "proximity", "--input", input, "--output", out, "--backend", "wasm", "--max-line-bytes", "500"];
    const failed = run(args);
    expect(failed.code).toBe(4); // BAD_INPUT
    expect(failed.stderr).toContain(`${input}:3: line of ${Buffer.byteLength(long)} bytes is longer than the limit of 500 bytes: not read`);
    const skipped = run([...args, "--resume", "--on-error", "skip"]);
    expect(skipped.code).toBe(0);
    expect(readJsonl(out).map((x) => x.paper_id)).toEqual(papers.map((p) => p.paper_id));
    expect(readJsonl(`${out}.errors.jsonl`)).toEqual([{ line: 3, error: expect.stringContaining(`line of ${Buffer.byteLength(long)} bytes is longer than the limit of 500 bytes`) }]);
    expect(run([...args.slice(0, -1), "0"]).stderr).toContain("--max-line-bytes must be a positive integer, got 0");
  });

  it("fails clearly on a missing model directory and an unknown adapter", () => {
    const missing = run(["embed", "--model", join(dir, "nope"), "--input", PAPERS, "--output", join(dir, "x.jsonl")]);
    expect(missing.code).toBe(3); // MODEL_NOT_FOUND
    expect(missing.stderr).toMatch(/nope: no such model directory/);
    const unknown = run(["embed", "--model", MODEL, "--adapter", "bogus", "--input", PAPERS, "--output", join(dir, "x.jsonl"), "--backend", "cpu"]);
    expect(unknown.code).toBe(3); // UNKNOWN_ADAPTER
    expect(unknown.stderr).toMatch(/unknown adapter "bogus" \(loaded: proximity, adhoc_query, classification, regression\)/);
  });

  it("tokenize prints the ids of each line, and info describes the model", () => {
    const tok = run(["tokenize", "--model", MODEL, "--max-length", "8"], '{"text": "citation graph"}\n');
    expect(tok.code).toBe(0);
    const line = JSON.parse(tok.stdout.trim());
    expect(line.tokens[0]).toBe("[CLS]");
    expect(line.tokens[line.tokens.length - 1]).toBe("[SEP]");
    expect(line.tokens).toContain("citation");
    const info = run(["info", "--model", MODEL]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/proximity/);
  });
});
