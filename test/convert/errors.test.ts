// Bad inputs to the converter: each fails with a message naming the file, tensor, key or name at fault,
// and nothing is written. Inputs are copies of the PyTorch-made fixtures with one thing broken.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConvertOptions } from "../../convert/convert";
import { convertModel } from "../../convert/convert";
import type { DType, RawTensor } from "../../src/weights/dtypes";
import { readSafetensors, writeSafetensors } from "../../src/node/modelDirectory";
import { copyFixture, fixture, tempDir } from "../helpers/convert";

const HIDDEN = 16;
const LAYERS = 2;

/** A writable copy of the float16 safetensors base (hidden 16, 2 layers, vocab 12). */
function baseCopy(): string {
  return copyFixture(fixture("safetensors_f16", "base"), "base");
}

function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}

function editTensors(path: string, edit: (tensors: Map<string, RawTensor>) => void): void {
  const tensors = new Map(readSafetensors(path).tensors);
  edit(tensors);
  writeSafetensors(path, tensors);
}

function zeros(shape: number[], dtype: DType = "F32"): RawTensor {
  const size = shape.reduce((a, b) => a * b, 1) * (dtype === "F32" ? 4 : 2);
  return { dtype, shape, data: new Uint8Array(size) };
}

/** A Pfeiffer (SPECTER2-style) adapter for the tiny base: output site, reduction 4 → bottleneck 4. */
function pfeifferTensors(name = "[PRX]", hidden = HIDDEN, size = HIDDEN / 4): Map<string, RawTensor> {
  const t = new Map<string, RawTensor>();
  for (let i = 0; i < LAYERS; i++) {
    const p = `bert.encoder.layer.${i}.output.adapters.${name}`;
    t.set(`${p}.adapter_down.0.weight`, zeros([size, hidden]));
    t.set(`${p}.adapter_down.0.bias`, zeros([size]));
    t.set(`${p}.adapter_up.weight`, zeros([hidden, size]));
    t.set(`${p}.adapter_up.bias`, zeros([hidden]));
  }
  return t;
}

function adapterDir(options: { config?: Record<string, unknown>; file?: Record<string, unknown>; tensors?: Map<string, RawTensor> } = {}): string {
  const dir = join(tempDir("adapter"), "proximity");
  mkdirSync(dir);
  const config = { mh_adapter: false, output_adapter: true, reduction_factor: 4, non_linearity: "relu", original_ln_before: true, ...options.config };
  const file = { config, hidden_size: HIDDEN, name: "[PRX]", version: "3.2.1", ...options.file };
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(file));
  writeSafetensors(join(dir, "adapter.safetensors"), options.tensors ?? pfeifferTensors());
  return dir;
}

/** Runs a conversion expected to fail; checks the message and that --out was not created. */
async function expectFailure(options: Partial<ConvertOptions>, ...messages: string[]): Promise<void> {
  const out = join(tempDir("out"), "model");
  const run = convertModel({ base: options.base ?? baseCopy(), adapters: options.adapters ?? [], out, dtype: options.dtype });
  const error = await run.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error).toBeInstanceOf(Error);
  for (const m of messages) expect(error!.message).toContain(m);
  expect(existsSync(out)).toBe(false);
}

it("the good inputs these tests break do convert", async () => {
  const out = join(tempDir("good"), "model");
  await convertModel({ base: baseCopy(), adapters: [{ dir: adapterDir() }], out });
  expect(readdirSync(join(out, "adapters")).sort()).toEqual(["proximity.json", "proximity.safetensors"]);
});

describe("base model", () => {
  it("a tensor whose shape does not match config.json", async () => {
    const base = baseCopy();
    editJson(join(base, "config.json"), (c) => (c.intermediate_size = 48));
    await expectFailure({ base }, `${join(base, "model.safetensors")}: tensor "encoder.layer.0.intermediate.dense.weight" has shape [32, 16], config.json implies [48, 16]`);
  });

  it("a missing encoder tensor", async () => {
    const base = baseCopy();
    editTensors(join(base, "model.safetensors"), (t) => t.delete("encoder.layer.1.output.LayerNorm.bias"));
    await expectFailure({ base }, "model.safetensors: missing encoder tensors: encoder.layer.1.output.LayerNorm.bias");
  });

  it("encoder tensors the config has no place for (a third layer)", async () => {
    const base = baseCopy();
    editTensors(join(base, "model.safetensors"), (t) => t.set("encoder.layer.2.output.dense.bias", zeros([HIDDEN], "F16")));
    await expectFailure({ base }, "unexpected encoder tensors for a BertModel of this config.json: encoder.layer.2.output.dense.bias");
  });

  it("half a pooler", async () => {
    const base = baseCopy();
    editTensors(join(base, "model.safetensors"), (t) => t.set("pooler.dense.bias", zeros([HIDDEN], "F16")));
    await expectFailure({ base }, "missing encoder tensors: pooler.dense.weight");
  });

  it("the same tensor under two names (with and without bert.)", async () => {
    const base = baseCopy();
    editTensors(join(base, "model.safetensors"), (t) => t.set("bert.pooler.dense.bias", zeros([HIDDEN], "F16")).set("pooler.dense.bias", zeros([HIDDEN], "F16")));
    await expectFailure({ base }, '"bert.pooler.dense.bias" and "pooler.dense.bias" are the same tensor');
  });

  it.each([
    [{ position_embedding_type: "relative_key" }, 'position_embedding_type "relative_key" is not supported'],
    [{ hidden_act: "gelu_fast" }, 'hidden_act "gelu_fast" is not supported'],
    [{ model_type: "roberta" }, 'model_type "roberta" is not supported'],
    [{ num_attention_heads: 3 }, "hidden_size 16 is not a multiple of num_attention_heads 3"],
    [{ hidden_size: "16" }, '"hidden_size" is "16", expected a positive integer'],
  ])("config.json with %j", async (change, message) => {
    const base = baseCopy();
    editJson(join(base, "config.json"), (c) => Object.assign(c, change));
    await expectFailure({ base }, `${join(base, "config.json")}: ${message}`);
  });

  it.each(["config.json", "vocab.txt"])("a missing %s", async (name) => {
    const base = baseCopy();
    rmSync(join(base, name));
    await expectFailure({ base }, `${join(base, name)} is missing`);
  });

  it("no weights file", async () => {
    const base = baseCopy();
    rmSync(join(base, "model.safetensors"));
    await expectFailure({ base }, `${base} has no weights file (looked for model.safetensors, pytorch_model.bin)`);
  });

  it("a special token that is not in vocab.txt", async () => {
    const base = baseCopy();
    writeFileSync(join(base, "special_tokens_map.json"), JSON.stringify({ mask_token: "<mask>" }));
    await expectFailure({ base }, `${join(base, "vocab.txt")}: the mask_token "<mask>" is not in the vocabulary`);
  });

  it("a value float16 cannot hold, with --dtype float16", async () => {
    const base = baseCopy();
    editTensors(join(base, "model.safetensors"), (t) => {
      const big: RawTensor = { dtype: "F32", shape: [HIDDEN], data: new Uint8Array(new Float32Array(HIDDEN).fill(1e5).buffer) };
      t.set("embeddings.LayerNorm.weight", big);
    });
    await expectFailure({ base, dtype: "float16" }, 'tensor "embeddings.LayerNorm.weight": value 100000 at index 0 is too large for float16');
  });

  it("a base directory that does not exist", async () => {
    const missing = join(tempDir("nobase"), "specter2_base");
    await expectFailure({ base: missing }, `--base directory ${missing} does not exist`);
  });
});

describe("adapters", () => {
  it("an adapter for another hidden size (config)", async () => {
    const dir = adapterDir({ file: { hidden_size: 32 } });
    await expectFailure({ adapters: [{ dir }] }, `${join(dir, "adapter_config.json")}: adapter "[PRX]" is for hidden_size 32, the base model has 16`);
  });

  it("an adapter for another hidden size (tensors)", async () => {
    const dir = adapterDir({ tensors: pfeifferTensors("[PRX]", 32, 8) });
    await expectFailure(
      { adapters: [{ dir }] },
      `${join(dir, "adapter.safetensors")}: tensor "bert.encoder.layer.0.output.adapters.[PRX].adapter_down.0.weight" has shape [8, 32], expected [4, 16]`,
    );
  });

  it.each([
    [{ use_gating: true }, "use_gating=true (gating) is not supported"],
    [{ phm_layer: true }, "phm_layer=true (PHM layers, Compacter) is not supported"],
    [{ is_parallel: true }, "is_parallel=true (parallel adapters) is not supported"],
    [{ scaling: "learned" }, 'scaling="learned" (learned scaling) is not supported'],
    [{ inv_adapter: "nice" }, 'inv_adapter="nice" (invertible adapters) is not supported'],
    [{ frobnicate: true }, "unknown adapter option(s) frobnicate"],
  ])("an unsupported option %j", async (change, message) => {
    const dir = adapterDir({ config: change });
    await expectFailure({ adapters: [{ dir }] }, `${join(dir, "adapter_config.json")}: `, message);
  });

  it("invertible adapter weights", async () => {
    const tensors = pfeifferTensors().set("bert.invertible_adapters.[PRX].F.0.weight", zeros([2, 8]));
    const dir = adapterDir({ tensors });
    await expectFailure({ adapters: [{ dir }] }, "adapter.safetensors: invertible adapters are not supported (tensors bert.invertible_adapters.[PRX].F.0.weight)");
  });

  it("a missing adapter tensor", async () => {
    const tensors = pfeifferTensors();
    tensors.delete("bert.encoder.layer.1.output.adapters.[PRX].adapter_up.bias");
    await expectFailure({ adapters: [{ dir: adapterDir({ tensors }) }] }, 'adapter "[PRX]" is missing tensors: encoder.layer.1.output.adapters.[PRX].adapter_up.bias');
  });

  it("tensors for a layer the config leaves out", async () => {
    const dir = adapterDir({ config: { leave_out: [1] } });
    await expectFailure({ adapters: [{ dir }] }, 'tensors that adapter "[PRX]"\'s config does not use', "bert.encoder.layer.1.output.adapters.[PRX].adapter_down.0.weight");
  });

  it("a per-layer reduction_factor without an entry for a layer", async () => {
    const dir = adapterDir({ config: { reduction_factor: { "0": 4 } } });
    await expectFailure({ adapters: [{ dir }] }, 'adapter "[PRX]": reduction_factor has no entry for layer 1 and no "default"');
  });

  it("tensors of another adapter name", async () => {
    const dir = adapterDir({ tensors: pfeifferTensors("[QRY]") });
    await expectFailure({ adapters: [{ dir }] }, 'tensors that are not part of bottleneck adapter "[PRX]": bert.encoder.layer.0.output.adapters.[QRY].adapter_down.0.weight');
  });

  it("ln_before with adapter_down.0 and adapter_norm_before disagreeing", async () => {
    const tensors = new Map<string, RawTensor>();
    const one = (shape: number[]) => ({ dtype: "F32" as const, shape, data: new Uint8Array(new Float32Array(shape[0]).fill(1).buffer) });
    for (let i = 0; i < LAYERS; i++) {
      const p = `encoder.layer.${i}.output.adapters.[PRX]`;
      tensors.set(`${p}.adapter_norm_before.weight`, one([HIDDEN])).set(`${p}.adapter_norm_before.bias`, zeros([HIDDEN]));
      tensors.set(`${p}.adapter_down.0.weight`, i === 1 ? zeros([HIDDEN]) : one([HIDDEN])).set(`${p}.adapter_down.0.bias`, zeros([HIDDEN]));
      tensors.set(`${p}.adapter_down.1.weight`, zeros([4, HIDDEN])).set(`${p}.adapter_down.1.bias`, zeros([4]));
      tensors.set(`${p}.adapter_up.weight`, zeros([HIDDEN, 4])).set(`${p}.adapter_up.bias`, zeros([HIDDEN]));
    }
    const dir = adapterDir({ config: { ln_before: true }, tensors });
    await expectFailure({ adapters: [{ dir }] }, "layer 1 output: adapter_norm_before.weight and adapter_down.0.weight differ, but are one LayerNorm");
  });

  it.each(["adapter_config.json", "adapter.safetensors"])("a missing %s", async (name) => {
    const dir = adapterDir();
    rmSync(join(dir, name));
    const message = name === "adapter_config.json" ? `${join(dir, name)} is missing` : `${dir} has no weights file (looked for adapter.safetensors, pytorch_adapter.bin)`;
    await expectFailure({ adapters: [{ dir }] }, message);
  });

  it.each(["bad/name", "", ".hidden", "-x", "a b", "ü"])("the bad NAME %j", async (name) => {
    await expectFailure({ adapters: [{ name, dir: adapterDir() }] }, `adapter name ${JSON.stringify(name)} is not a safe file name`);
  });

  it("the same NAME twice", async () => {
    await expectFailure({ adapters: [{ dir: adapterDir() }, { name: "proximity", dir: adapterDir() }] }, 'adapter name "proximity" is given twice');
  });
});

describe("--out", () => {
  it("a non-empty directory that is not a model is refused and left alone", async () => {
    const out = tempDir("precious");
    writeFileSync(join(out, "thesis.tex"), "precious");
    const error = await convertModel({ base: baseCopy(), adapters: [], out }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain(`--out ${out} is a non-empty directory without a specter2-tfjs-model manifest.json: refusing to replace it`);
    expect(readdirSync(out)).toEqual(["thesis.tex"]);
  });

  it("an empty directory is used", async () => {
    const out = tempDir("empty");
    await convertModel({ base: baseCopy(), adapters: [], out });
    expect(existsSync(join(out, "manifest.json"))).toBe(true);
  });
});
