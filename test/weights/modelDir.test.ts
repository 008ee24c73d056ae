// Opening a model directory trusts nothing in it: every path its manifest names stays inside it, and config.json's
// sizes are bounded before anything is allocated from them. Works on copies of weights/specter2-tiny.
import { cpSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { embedCommand } from "../../src/cli/commands/embed";
import { Specter2Error } from "../../src/errors";
import { Specter2 } from "../../src/node/specter2";
import { openModelDirectory } from "../../src/node/modelDirectory";

const DEMO = join(__dirname, "..", "..", "weights", "specter2-tiny");

function copyOfDemo(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "specter2-modeldir-")), "model");
  cpSync(DEMO, dir, { recursive: true });
  return dir;
}

function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json, null, 2));
}

/** The error openModelDirectory throws (or undefined). */
function openError(dir: string, verify = false): Specter2Error | undefined {
  try {
    openModelDirectory(dir, { verify });
  } catch (e) {
    return e as Specter2Error;
  }
  return undefined;
}

type Files = Record<string, { sha256: string; bytes: number }>;
type Adapters = Record<string, { config: string; weights: string }>;

describe("manifest paths stay inside the model directory", () => {
  test("an untouched directory opens, also through a symlink to it", () => {
    const dir = copyOfDemo();
    expect(openError(dir, true)).toBeUndefined();
    const link = join(dir, "..", "link");
    symlinkSync(dir, link);
    expect(openError(link, true)).toBeUndefined();
  });

  test.each([
    ["a parent path", "../../../etc/hostname", /files "\.\.\/\.\.\/\.\.\/etc\/hostname" has an empty, "\." or "\.\." component/],
    ["a .. inside", "adapters/../../outside.json", /files "adapters\/\.\.\/\.\.\/outside\.json" has an empty, "\." or "\.\." component/],
    ["an absolute path", "/etc/hostname", /files "\/etc\/hostname" is not a relative path with forward slashes/],
    ["a backslash", "adapters\\..\\..\\x", /files "adapters\\\\\.\.\\\\\.\.\\\\x" is not a relative path with forward slashes/],
    ["a drive letter", "C:/Windows/win.ini", /files "C:\/Windows\/win\.ini" is not a relative path with forward slashes/],
  ])("a files entry with %s is refused at open, naming it, with or without --verify", (_, entry, message) => {
    const dir = copyOfDemo();
    editJson(join(dir, "manifest.json"), (m) => {
      (m.files as Files)[entry] = { sha256: "0".repeat(64), bytes: 1 };
    });
    for (const verify of [false, true]) {
      const e = openError(dir, verify);
      expect(e).toBeInstanceOf(Specter2Error);
      expect(e?.code).toBe("BAD_CHECKPOINT");
      expect(e?.file).toBe(join(dir, "manifest.json"));
      expect(e?.field).toBe("files");
      expect(e?.message).toMatch(message);
      expect(e?.message).toContain("must stay inside it");
    }
  });

  test("an adapter's config or weights path outside the directory is refused, naming the adapter's entry", () => {
    const dir = copyOfDemo();
    editJson(join(dir, "manifest.json"), (m) => {
      (m.adapters as Adapters).regression.weights = "../regression.safetensors";
    });
    const e = openError(dir);
    expect(e?.code).toBe("BAD_CHECKPOINT");
    expect(e?.field).toBe("adapters.regression.weights");
    expect(e?.message).toMatch(/adapters\.regression\.weights "\.\.\/regression\.safetensors" has an empty, "\." or "\.\." component/);
  });

  test("a file that is a symlink leading out of the directory is refused; one inside is fine", () => {
    const dir = copyOfDemo();
    const outside = join(dir, "..", "elsewhere.safetensors");
    renameSync(join(dir, "adapters", "proximity.safetensors"), outside);
    symlinkSync(outside, join(dir, "adapters", "proximity.safetensors"));
    const e = openError(dir);
    expect(e?.code).toBe("BAD_CHECKPOINT");
    expect(e?.field).toBe("files");
    expect(e?.message).toMatch(/files "adapters\/proximity\.safetensors" resolves \(through a symlink\) to .*elsewhere\.safetensors, outside the model directory/);

    // The adapters folder itself a symlink out: every path through it is refused.
    const dir2 = copyOfDemo();
    renameSync(join(dir2, "adapters"), join(dir2, "..", "adapters-elsewhere"));
    symlinkSync(join(dir2, "..", "adapters-elsewhere"), join(dir2, "adapters"));
    expect(openError(dir2)?.message).toMatch(/files "adapters\/proximity\.json" resolves \(through a symlink\) to .*adapters-elsewhere\/proximity\.json, outside/);

    // A symlink to a file inside the directory stays inside.
    const dir3 = copyOfDemo();
    renameSync(join(dir3, "vocab.txt"), join(dir3, "vocab.real.txt"));
    symlinkSync("vocab.real.txt", join(dir3, "vocab.txt"));
    expect(openError(dir3, true)).toBeUndefined();
  });

  test("`specter2 embed --verify` with a manifest naming /etc/hostname stops before hashing it", async () => {
    const dir = copyOfDemo();
    editJson(join(dir, "manifest.json"), (m) => {
      (m.files as Files)["../../../../../../../../etc/hostname"] = { sha256: "0".repeat(64), bytes: 1 };
    });
    const input = join(dir, "..", "papers.jsonl");
    writeFileSync(input, `${JSON.stringify({ title: "t", abstract: "a" })}\n`);
    const argv = ["embed", "--model", dir, "--input", input, "--output", join(dir, "..", "out.jsonl"), "--backend", "wasm", "--verify"];
    const run = yargs(argv)
      .command(embedCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
    // Without the check, verify reported "…/etc/hostname: N bytes, the manifest says 1" (or its sha256).
    await expect(run).rejects.toThrow(/manifest\.json: files "(\.\.\/)+etc\/hostname" has an empty, "\." or "\.\." component; a model directory's files must stay inside it/);
  });
});

describe("config.json is bounded before anything is allocated", () => {
  test("num_hidden_layers 1e9 is refused at once, naming the file and field", async () => {
    const dir = copyOfDemo();
    editJson(join(dir, "config.json"), (c) => {
      c.num_hidden_layers = 1e9;
    });
    const started = Date.now();
    const e = await Specter2.load(dir, { workers: 0, backend: "wasm" }).then(
      async (m) => {
        await m.close();
        return undefined;
      },
      (err: Specter2Error) => err,
    );
    expect(Date.now() - started).toBeLessThan(5000); // it took 30 s and 3 GB, then "Map maximum size exceeded"
    expect(e).toBeInstanceOf(Specter2Error);
    expect(e?.code).toBe("BAD_CHECKPOINT");
    expect(e?.file).toBe(join(dir, "config.json"));
    expect(e?.field).toBe("num_hidden_layers");
    expect(e?.message).toBe(`${join(dir, "config.json")}: "num_hidden_layers" is 1000000000, expected an integer from 1 to 256`);
  });

  test.each<[string, unknown, string]>([
    ["num_hidden_layers", 0, '"num_hidden_layers" is 0, expected an integer from 1 to 256'],
    ["num_hidden_layers", 2.5, '"num_hidden_layers" is 2.5, expected an integer from 1 to 256'],
    ["num_hidden_layers", "2", '"num_hidden_layers" is "2", expected an integer from 1 to 256'],
    ["hidden_size", 1 << 17, '"hidden_size" is 131072, expected an integer from 1 to 65536'],
    ["num_attention_heads", -4, '"num_attention_heads" is -4, expected an integer from 1 to 65536'],
    ["num_attention_heads", 5, "hidden_size 64 is not a multiple of num_attention_heads 5"],
    ["intermediate_size", null, '"intermediate_size" is null, expected an integer from 1 to 262144'],
    ["vocab_size", 2e7, '"vocab_size" is 20000000, expected an integer from 1 to 10000000'],
    ["max_position_embeddings", 2 ** 21, '"max_position_embeddings" is 2097152, expected an integer from 1 to 1048576'],
    ["type_vocab_size", 1e6, '"type_vocab_size" is 1000000, expected an integer from 1 to 1024'],
    ["pad_token_id", 359, '"pad_token_id" is 359, expected an integer from 0 to vocab_size - 1 (358)'],
    ["layer_norm_eps", -1, '"layer_norm_eps" is -1, expected a positive number'],
    ["hidden_act", "mish", '"hidden_act" is "mish", expected one of relu, gelu, gelu_new, swish, silu, tanh, sigmoid, leakyrelu'],
  ])("%s = %j is refused naming the file and field", (field, value, message) => {
    const dir = copyOfDemo();
    editJson(join(dir, "config.json"), (c) => {
      c[field] = value;
    });
    const e = openError(dir);
    expect(e?.code).toBe("BAD_CHECKPOINT");
    expect(e?.file).toBe(join(dir, "config.json"));
    expect(e?.field).toBe(field === "num_attention_heads" && value === 5 ? "hidden_size" : field);
    expect(e?.message).toBe(`${join(dir, "config.json")}: ${message}`);
  });

  test("a missing field is named too", () => {
    const dir = copyOfDemo();
    editJson(join(dir, "config.json"), (c) => {
      delete c.vocab_size;
    });
    expect(openError(dir)?.message).toMatch(/config\.json: "vocab_size" is missing, expected an integer from 1 to 10000000$/);
  });
});
