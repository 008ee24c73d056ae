// `specter2 convert` (the built binary, as a user runs it) given source files that are not regular files: a symlink
// to /dev/zero (endless bytes) or a FIFO with no writer (a blocking open waits forever). Each is refused before a
// byte is read, naming the file. The binary runs under a deadline, so a reader that does not refuse cannot hang
// the suite: it is killed and the test fails.
import { spawnSync } from "node:child_process";
import { cpSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixture, tempDir } from "../helpers/convert";
import { linkToDevZero, makeFifo } from "../helpers/hostileFiles";

const BIN = join(__dirname, "..", "..", "dist", "src", "cli", "main.js");
/** Far more than a refusal takes; kills a reader of /dev/zero while it holds at most a few GB. */
const DEADLINE_MS = 10_000;

function convert(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "convert", ...args], { encoding: "utf8", timeout: DEADLINE_MS, killSignal: "SIGKILL" });
  return { status: r.status, stderr: r.stderr };
}

/** A writable copy of the fixture's folder with `file` replaced by what `make` puts there. */
function sourceWith(folder: string, file: string, make: (path: string) => void): string {
  const dir = join(tempDir("special"), "source");
  cpSync(fixture(...folder.split("/")), dir, { recursive: true });
  rmSync(join(dir, file), { force: true });
  make(join(dir, file));
  return dir;
}

const DEV_ZERO = ["a symlink to /dev/zero", linkToDevZero, "a character device"] as const;
const FIFO = ["a FIFO", makeFifo, "a FIFO (named pipe)"] as const;

describe("convert refuses source files that are not regular files", () => {
  it.each([
    ["base", "bin_prefixed/base", "pytorch_model.bin", ...DEV_ZERO],
    ["base", "bin_prefixed/base", "pytorch_model.bin", ...FIFO],
    ["base", "safetensors_f16/base", "model.safetensors", ...FIFO],
    ["base", "bin_prefixed/base", "vocab.txt", ...DEV_ZERO],
    ["base", "bin_prefixed/base", "config.json", ...FIFO],
    ["adapter", "adapters/houlsby_preset", "pytorch_adapter.bin", ...DEV_ZERO],
    ["adapter", "adapters/houlsby_preset", "adapter_config.json", ...FIFO],
  ])("%s %s: %s is %s → exit 3 naming it", (part, folder, file, _what, make, kind) => {
    const dir = sourceWith(folder, file, make);
    const source = part === "base" ? ["--base", dir] : ["--base", fixture("bin_prefixed", "base"), "--adapter", `a=${dir}`];
    const r = convert([...source, "--out", join(tempDir("special-out"), "model")]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 3,
      stderr: `specter2: ${join(dir, file)} is ${kind}, not a regular file: refusing to read it\n`,
    });
  });
});

describe("loading a model directory refuses its files that are not regular files", () => {
  it.each(["manifest.json", "config.json", "vocab.txt", "tokenizer_config.json", "model.safetensors"])("%s a FIFO → embed exits 3 naming it, before reading a byte", (file) => {
    const dir = join(tempDir("special-model"), "model");
    cpSync(join(__dirname, "..", "..", "weights", "specter2-tiny"), dir, { recursive: true });
    rmSync(join(dir, file));
    makeFifo(join(dir, file));
    const input = join(tempDir("special-input"), "papers.jsonl");
    writeFileSync(input, '{"title": "BERT"}\n');
    const r = spawnSync(process.execPath, [BIN, "embed", "--model", dir, "--input", input, "--output", `${input}.out.jsonl`, "--backend", "wasm", "--workers", "0"], {
      encoding: "utf8",
      timeout: DEADLINE_MS,
      killSignal: "SIGKILL",
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 3, stderr: `specter2: ${join(dir, file)} is a FIFO (named pipe), not a regular file: refusing to read it\n` });
  });
});
