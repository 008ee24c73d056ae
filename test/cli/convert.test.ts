// `specter2 convert` through yargs and the command's handler (the spawned binary is tested with the CLI).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import yargs from "yargs";
import { convertCommand, parseAdapterArgument } from "../../src/cli/commands/convert";
import type { Manifest } from "../../src/weights/modelDir";
import { readSafetensors } from "../../src/weights/safetensors";
import { expectSameTensors, fixture, readExpected, tempDir } from "../helpers/convert";

/** Parses `args` with the convert command alone; resolves to stdout, rejects with yargs' or the handler's error. */
async function run(args: string[]): Promise<string> {
  let stdout = "";
  const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    await yargs(args)
      .command(convertCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    write.mockRestore();
  }
  return stdout;
}

describe("parseAdapterArgument", () => {
  it.each([
    ["proximity=/hub/specter2", { name: "proximity", dir: "/hub/specter2" }],
    ["/hub/specter2_adhoc_query", { dir: "/hub/specter2_adhoc_query" }],
    ["q=/dirs/a=b", { name: "q", dir: "/dirs/a=b" }],
    ["=/hub/x", { name: "", dir: "/hub/x" }],
  ])("%s", (arg, expected) => {
    expect(parseAdapterArgument(arg)).toEqual(expected);
  });

  it("refuses NAME= without a directory", () => {
    expect(() => parseAdapterArgument("proximity=")).toThrow('--adapter proximity=: no directory after "="');
  });
});

describe("specter2 convert", () => {
  it("converts a base and adapters named and unnamed, as float16, and reports what it wrote", async () => {
    const out = join(tempDir("cli"), "model");
    const stdout = await run([
      "convert",
      "--base",
      fixture("bin_prefixed", "base"),
      "--adapter",
      `lns=${fixture("adapters", "ln_shared")}`,
      "--adapter",
      fixture("adapters", "legacy_gelu"),
      "--out",
      out,
      "--dtype",
      "float16",
    ]);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(manifest.dtype).toBe("float16");
    expect(Object.keys(manifest.adapters)).toEqual(["lns", "legacy_gelu"]);
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("bin_prefixed_f16"));
    expect(stdout).toContain(`wrote ${out} (float16)`);
    expect(stdout).toContain(`adapter lns: ${fixture("adapters", "ln_shared")}`);
    expect(stdout).toContain("skipped in lns: head_config.json, pytorch_model_head.bin");
    expect(stdout).toContain("ignored base tensors (not part of the encoder): bert.embeddings.position_ids, cls.predictions.bias");
  });

  it("defaults to float32", async () => {
    const out = join(tempDir("cli32"), "model");
    await run(["convert", "--base", fixture("safetensors_f16", "base"), "--out", out]);
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("safetensors_f16_f32"));
  });

  it.each([
    [["--out", "/tmp/x"], "Missing required argument: base"],
    [["--base", "/tmp/x"], "Missing required argument: out"],
    [["--base", "/tmp/x", "--out", "/tmp/y", "--dtype", "bfloat16"], 'Invalid values:\n  Argument: dtype, Given: "bfloat16", Choices: "float32", "float16"'],
  ])("usage errors %j", async (args, message) => {
    await expect(run(["convert", ...args])).rejects.toThrow(message);
  });

  it("passes the converter's errors through", async () => {
    const out = join(tempDir("clibad"), "model");
    await expect(run(["convert", "--base", fixture("safetensors_f16", "base"), "--adapter", "bad/name=/x", "--out", out])).rejects.toThrow('adapter name "bad/name" is not a safe file name');
  });
});
