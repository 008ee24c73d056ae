// The parity fixtures' Hub directories (test/fixtures/models/<case>/hub, made by make_model_fixtures.py with
// PyTorch and the adapters library) convert as their notes in reference.json describe. Their outputs are
// compared with PyTorch's by the parity tests; here: names, what is ignored or skipped, resolved configs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AdapterSpec, BottleneckConfig } from "../../src/model/config";
import type { Manifest } from "../../src/weights/modelDir";
import { convertModelFixture } from "../helpers/modelFixtures";

const SEQ_BN: BottleneckConfig = {
  mh_adapter: false,
  output_adapter: true,
  reduction_factor: 16,
  non_linearity: "relu",
  original_ln_before: true,
  original_ln_after: true,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  ln_before: false,
  ln_after: false,
  scaling: 1,
  leave_out: [],
};

async function convertCase(name: string): Promise<{ out: string; manifest: Manifest; specs: Record<string, AdapterSpec> }> {
  const { out, manifest, adapters } = await convertModelFixture(name);
  expect(Object.keys(manifest.adapters)).toEqual(adapters);
  const specs: Record<string, AdapterSpec> = {};
  for (const a of adapters) specs[a] = JSON.parse(readFileSync(join(out, "adapters", `${a}.json`), "utf8")) as AdapterSpec;
  return { out, manifest, specs };
}

it("specter2_layout: the position_ids buffer ignored, two seq_bn adapters from adapter-transformers 3.x", async () => {
  const { manifest, specs } = await convertCase("specter2_layout");
  expect(manifest.base.ignored).toEqual(["embeddings.position_ids"]);
  expect(specs.proximity).toEqual({ name: "[PRX]", hidden_size: 32, config: SEQ_BN });
  expect(specs.adhoc_query).toEqual({ name: "[QRY]", hidden_size: 32, config: SEQ_BN });
});

it("houlsby: bert.-prefixed base with cls.* ignored, the preset resolved, the prediction head skipped", async () => {
  const { manifest, specs } = await convertCase("houlsby");
  expect(manifest.base.ignored.sort()).toEqual([
    "bert.embeddings.position_ids",
    "cls.predictions.bias",
    "cls.predictions.decoder.bias",
    "cls.predictions.decoder.weight",
    "cls.predictions.transform.LayerNorm.bias",
    "cls.predictions.transform.LayerNorm.weight",
    "cls.predictions.transform.dense.bias",
    "cls.predictions.transform.dense.weight",
  ]);
  expect(specs.topic.config).toEqual({ ...SEQ_BN, mh_adapter: true, original_ln_before: false, non_linearity: "swish" });
  expect(manifest.adapters.topic.skipped).toEqual(["head_config.json", "pytorch_model_head.bin"]);
});

it("stress: an adapters-library 1.0 adapter.safetensors and a legacy adapter whose gelu means gelu_new", async () => {
  const { specs } = await convertCase("stress");
  expect(specs.stress.config).toEqual({
    mh_adapter: true,
    output_adapter: true,
    reduction_factor: { "0": 4, default: 8 },
    non_linearity: "gelu_new",
    original_ln_before: true,
    original_ln_after: true,
    residual_before_ln: "post_add",
    adapter_residual_before_ln: true,
    ln_before: true,
    ln_after: true,
    scaling: 0.5,
    leave_out: [1],
  });
  expect(specs.legacy.config).toEqual({ ...SEQ_BN, reduction_factor: 8, non_linearity: "gelu_new", residual_before_ln: false });
});

it("full_width: a float16 model.safetensors at BERT-base width", async () => {
  const { manifest, specs } = await convertCase("full_width");
  expect(manifest.base.files.map((f) => f.path)).toContain("model.safetensors");
  expect(specs.proximity).toEqual({ name: "[PRX]", hidden_size: 768, config: SEQ_BN });
});
