// adapter_config.json resolution. Expected values are the adapters library's (configuration/adapter_config.py:
// BnConfig defaults, SeqBnConfig/DoubleSeqBnConfig presets; loading.py: gelu → gelu_new without "version").
import type { BottleneckConfig } from "../../src/model/config";
import { parseAdapterConfig } from "../../src/weights/hub/adapterConfig";
import { checkInvertible } from "../../src/weights/hub/adapterWeights";

const FILE = "/hub/adapter/adapter_config.json";

/** The SPECTER2 adapters' config, as adapter-transformers 3.x writes it. */
const SPECTER2_CONFIG = {
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
  scaling: 1.0,
  leave_out: [],
  init_weights: "bert",
  is_parallel: false,
  phm_layer: false,
  inv_adapter: null,
  inv_adapter_reduction_factor: null,
  use_gating: false,
  cross_adapter: false,
  dropout: 0.0,
  phm_dim: 4,
  phm_bias: true,
  phm_c_init: "normal",
  phm_init_range: 0.0001,
  phm_rank: 1,
  learn_phm: true,
  factorized_phm_W: true,
  factorized_phm_rule: false,
  shared_W_phm: false,
  shared_phm_rule: true,
  hypercomplex_nonlinearity: "glorot-uniform",
};

const PFEIFFER: BottleneckConfig = {
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

function file(config: unknown, extra: Record<string, unknown> = { version: "3.2.1" }) {
  return { config, hidden_size: 768, model_class: "BertAdapterModel", model_name: "allenai/specter2_base", model_type: "bert", name: "[PRX]", ...extra };
}

describe("parseAdapterConfig resolves", () => {
  it("the SPECTER2 adapters' explicit dict", () => {
    const parsed = parseAdapterConfig(file(SPECTER2_CONFIG), FILE);
    expect(parsed.spec).toEqual({ name: "[PRX]", hidden_size: 768, config: PFEIFFER });
    expect(parsed.invertibleAdapter).toBeNull();
  });

  it.each(["pfeiffer", "seq_bn"])("preset %s to SeqBnConfig", (preset) => {
    expect(parseAdapterConfig(file(preset), FILE).spec.config).toEqual(PFEIFFER);
  });

  it.each(["houlsby", "double_seq_bn"])("preset %s to DoubleSeqBnConfig", (preset) => {
    expect(parseAdapterConfig(file(preset), FILE).spec.config).toEqual({
      ...PFEIFFER,
      mh_adapter: true,
      original_ln_before: false,
      non_linearity: "swish",
    });
  });

  it("a minimal dict with BnConfig's defaults (not the preset's): original_ln_before false", () => {
    const parsed = parseAdapterConfig(file({ mh_adapter: true, output_adapter: false, reduction_factor: 2, non_linearity: "tanh" }), FILE);
    expect(parsed.spec.config).toEqual({
      mh_adapter: true,
      output_adapter: false,
      reduction_factor: 2,
      non_linearity: "tanh",
      original_ln_before: false,
      original_ln_after: true,
      residual_before_ln: true,
      adapter_residual_before_ln: false,
      ln_before: false,
      ln_after: false,
      scaling: 1,
      leave_out: [],
    });
  });

  it("a newer adapters-library file with architecture bottleneck and per-layer reduction factors", () => {
    const config = { ...SPECTER2_CONFIG, architecture: "bottleneck", reduction_factor: { "3": 8, default: 16 }, stochastic_depth: 0.0 };
    const parsed = parseAdapterConfig(file(config, { version: "adapters.1.0.0" }), FILE);
    expect(parsed.spec.config.reduction_factor).toEqual({ "3": 8, default: 16 });
  });

  it.each([
    [{ version: "3.2.1" }, "gelu", "gelu"],
    [{}, "gelu", "gelu_new"],
    [{}, "gelu_orig", "gelu"],
    [{}, "ReLU", "relu"],
    [{ version: "adapters.1.0.0" }, "Swish", "swish"],
  ])("non_linearity with top-level keys %j: %s → %s", (extra, given, resolved) => {
    const parsed = parseAdapterConfig(file({ ...SPECTER2_CONFIG, non_linearity: given }, extra), FILE);
    expect(parsed.spec.config.non_linearity).toBe(resolved);
  });

  it("a legacy task adapter's declared invertible adapter (v1 nested key), left for the weights to decide", () => {
    const legacy = { ...SPECTER2_CONFIG, invertible_adapter: { block_type: "nice", non_linearity: "relu", reduction_factor: 2 } };
    delete (legacy as Record<string, unknown>).inv_adapter;
    const parsed = parseAdapterConfig(file(legacy, { type: "text_task" }), FILE);
    expect(parsed.invertibleAdapter).toBe("nice");
    expect(parsed.legacyTaskAdapter).toBe(true);
  });
});

describe("parseAdapterConfig refuses by name", () => {
  it.each([
    [{ use_gating: true }, "use_gating=true (gating) is not supported"],
    [{ phm_layer: true }, "phm_layer=true (PHM layers, Compacter) is not supported"],
    [{ is_parallel: true }, "is_parallel=true (parallel adapters) is not supported"],
    [{ scaling: "learned" }, 'scaling="learned" (learned scaling) is not supported'],
    [{ scaling: "channel" }, 'scaling="channel" (channel scaling) is not supported'],
    [{ architecture: "lora" }, 'adapter architecture "lora" is not supported, only "bottleneck"'],
    [{ architecture: "union" }, 'adapter architecture "union" is not supported'],
    [{ some_new_option: 3 }, "unknown adapter option(s) some_new_option"],
    [{ non_linearity: "gelu_fast" }, 'adapter non_linearity "gelu_fast" is not supported'],
    [{ residual_before_ln: "pre_add" }, '"residual_before_ln" is "pre_add"'],
    [{ reduction_factor: 0 }, '"reduction_factor" is 0'],
    [{ leave_out: [-1] }, '"leave_out" is [-1]'],
    [{ ln_after: "yes" }, '"ln_after" is "yes", expected true or false'],
  ])("%j", (change, message) => {
    const run = () => parseAdapterConfig(file({ ...SPECTER2_CONFIG, ...change }), FILE);
    expect(run).toThrow(`${FILE}: `);
    expect(run).toThrow(message);
  });

  it.each([
    ["pfeiffer+inv", "inv_adapter"],
    ["seq_bn_inv", "inv_adapter"],
    ["parallel", "is_parallel=true"],
    ["scaled_par_bn", "is_parallel=true"],
    ["compacter", "phm_layer=true"],
    ["compacter++", "phm_layer=true"],
  ])("preset %s (%s)", (preset, option) => {
    // Invertible adapters are judged with the weights (a legacy task adapter may declare one it never trained).
    const run = () => checkInvertible(parseAdapterConfig(file(preset), FILE), new Map(), FILE, "pytorch_adapter.bin");
    expect(run).toThrow(option);
  });

  it.each(["lora", "prefix_tuning", "mam", "unipelt", "ia3"])("non-bottleneck preset %s", (preset) => {
    expect(() => parseAdapterConfig(file(preset), FILE)).toThrow(`"config": "${preset}" is not a bottleneck adapter`);
  });

  it("an unknown preset, listing the known ones", () => {
    expect(() => parseAdapterConfig(file("pfeifer"), FILE)).toThrow('unknown adapter config preset "pfeifer" (known: pfeiffer, seq_bn, houlsby');
  });

  it.each([
    ["no name", { name: undefined }, '"name" (the adapter\'s name in its weights) is missing'],
    ["a string hidden_size", { hidden_size: "768" }, '"hidden_size" is "768", expected a positive integer'],
    ["a null config", { config: null }, '"config" is null'],
  ])("a file with %s", (_, change, message) => {
    expect(() => parseAdapterConfig({ ...file(SPECTER2_CONFIG), ...change }, FILE)).toThrow(message);
  });

  it("a dict missing a required option of BnConfig", () => {
    const { non_linearity: _, ...rest } = SPECTER2_CONFIG;
    expect(() => parseAdapterConfig(file(rest), FILE)).toThrow("lacks required option(s) non_linearity");
  });
});
