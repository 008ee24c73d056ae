// AdapterHub adapter_config.json → AdapterSpec with every option resolved, as the adapters library does
// (configuration/adapter_config.py: BnConfig and its presets; loading.py: load_weights_config).
// Options we do not implement are refused by name, never ignored.
import type { AdapterSpec, BottleneckConfig } from "../../model/config";
import { ACTIVATIONS, isActivation } from "../../model/config";
import type { Json } from "./jsonFields";
import { Specter2Error } from "../../errors";

export interface AdapterConfigFile {
  spec: AdapterSpec;
  /** The invertible adapter the config declares (inv_adapter), or null. See adapterWeights.checkInvertible. */
  invertibleAdapter: string | null;
  /** Legacy task adapters ("type": "text_task") whose unused invertible adapter the library drops. */
  legacyTaskAdapter: boolean;
}

/** BnConfig's defaults for the options that are not required. */
const BN_DEFAULTS: Json = {
  original_ln_before: false,
  original_ln_after: true,
  ln_before: false,
  ln_after: false,
  init_weights: "bert",
  is_parallel: false,
  scaling: 1.0,
  use_gating: false,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  inv_adapter: null,
  inv_adapter_reduction_factor: null,
  cross_adapter: false,
  leave_out: [],
  dropout: 0.0,
  phm_layer: false,
  phm_dim: 4,
  factorized_phm_W: true,
  shared_W_phm: false,
  shared_phm_rule: true,
  factorized_phm_rule: false,
  phm_c_init: "normal",
  phm_init_range: 0.0001,
  learn_phm: true,
  hypercomplex_nonlinearity: "glorot-uniform",
  phm_rank: 1,
  phm_bias: true,
  stochastic_depth: 0.0,
};
const REQUIRED = ["mh_adapter", "output_adapter", "reduction_factor", "non_linearity"];
/** Keys a config may carry besides BnConfig's fields: the class tag and v1's nested invertible adapter. */
const EXTRA_KEYS = ["architecture", "invertible_adapter"];

const SEQ_BN: Json = {
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
};
const DOUBLE_SEQ_BN: Json = { ...SEQ_BN, mh_adapter: true, original_ln_before: false, non_linearity: "swish" };
const PAR_BN: Json = {
  mh_adapter: false,
  output_adapter: true,
  reduction_factor: 2,
  non_linearity: "relu",
  original_ln_before: false,
  original_ln_after: true,
  ln_before: false,
  ln_after: false,
  init_weights: "mam_adapter",
  is_parallel: true,
  scaling: 4.0,
};
const INVERTIBLE = { inv_adapter: "nice", inv_adapter_reduction_factor: 2 };

/** The library's preset names (ADAPTER_CONFIG_MAP) that are bottleneck adapters; the others are refused below. */
const PRESETS: Record<string, Json> = {
  pfeiffer: SEQ_BN,
  seq_bn: SEQ_BN,
  houlsby: DOUBLE_SEQ_BN,
  double_seq_bn: DOUBLE_SEQ_BN,
  "pfeiffer+inv": { ...SEQ_BN, ...INVERTIBLE },
  seq_bn_inv: { ...SEQ_BN, ...INVERTIBLE },
  "houlsby+inv": { ...DOUBLE_SEQ_BN, ...INVERTIBLE },
  double_seq_bn_inv: { ...DOUBLE_SEQ_BN, ...INVERTIBLE },
  parallel: PAR_BN,
  par_bn: PAR_BN,
  scaled_parallel: { ...PAR_BN, scaling: "learned" },
  scaled_par_bn: { ...PAR_BN, scaling: "learned" },
  "compacter++": { ...SEQ_BN, phm_layer: true, reduction_factor: 32, non_linearity: "gelu" },
  compacter: { ...DOUBLE_SEQ_BN, phm_layer: true, reduction_factor: 32, non_linearity: "gelu" },
};
const OTHER_METHODS = ["prefix_tuning", "prefix_tuning_flat", "prompt_tuning", "lora", "ia3", "loreft", "noreft", "direft", "mam", "unipelt"];

/** Before the `version` key existed, "gelu" meant the tanh approximation (loading.py ACTIVATION_RENAME). */
const LEGACY_ACTIVATION_RENAME: Record<string, string> = { gelu: "gelu_new", gelu_orig: "gelu" };

export function parseAdapterConfig(json: Json, file: string): AdapterConfigFile {
  const name = json.name;
  if (typeof name !== "string" || name === "") throw new Specter2Error("BAD_CHECKPOINT", `${file}: "name" (the adapter's name in its weights) is missing`, { file, field: "name" });
  const hidden = json.hidden_size;
  if (!Number.isSafeInteger(hidden) || (hidden as number) <= 0) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: "hidden_size" is ${JSON.stringify(hidden)}, expected a positive integer`, { file, field: "hidden_size" });
  }
  const raw = resolvePreset(json.config, file);
  const options: Json = { ...BN_DEFAULTS, ...raw };
  checkKeys(raw, file);
  if (!("version" in json) && typeof raw.non_linearity === "string" && raw.non_linearity in LEGACY_ACTIVATION_RENAME) {
    options.non_linearity = LEGACY_ACTIVATION_RENAME[raw.non_linearity];
  }
  return {
    spec: { name, hidden_size: hidden as number, config: bottleneckConfig(options, file) },
    invertibleAdapter: invertibleAdapter(options, raw, file),
    legacyTaskAdapter: json.type === "text_task",
  };
}

/** `config` is a dict (written by the library) or a preset name; presets expand to their class's values. */
function resolvePreset(config: unknown, file: string): Json {
  if (typeof config === "string") {
    const preset = PRESETS[config];
    if (preset) return preset;
    if (OTHER_METHODS.includes(config))
      throw new Specter2Error("BAD_CHECKPOINT", `${file}: "config": "${config}" is not a bottleneck adapter; only bottleneck adapters are supported`, { file, field: "config" });
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: unknown adapter config preset "${config}" (known: ${Object.keys(PRESETS).join(", ")})`, { file, field: "config" });
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: "config" is ${JSON.stringify(config)}, expected an adapter configuration object or preset name`, { file, field: "config" });
  }
  const architecture = (config as Json).architecture;
  if (architecture !== undefined && architecture !== null && architecture !== "bottleneck") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter architecture ${JSON.stringify(architecture)} is not supported, only "bottleneck"`, { file, field: "architecture" });
  }
  return config as Json;
}

function checkKeys(raw: Json, file: string): void {
  const missing = REQUIRED.filter((k) => raw[k] === undefined);
  if (missing.length > 0) throw new Specter2Error("BAD_CHECKPOINT", `${file}: the adapter config lacks required option(s) ${missing.join(", ")}`, { file, field: missing[0] });
  const unknown = Object.keys(raw).filter((k) => !(k in BN_DEFAULTS) && !REQUIRED.includes(k) && !EXTRA_KEYS.includes(k));
  if (unknown.length > 0) throw new Specter2Error("BAD_CHECKPOINT", `${file}: unknown adapter option(s) ${unknown.join(", ")}: refusing to guess their effect`, { file, field: unknown[0] });
}

function bottleneckConfig(o: Json, file: string): BottleneckConfig {
  const bool = (key: string): boolean => {
    if (typeof o[key] !== "boolean") throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option "${key}" is ${JSON.stringify(o[key])}, expected true or false`, { file, field: key });
    return o[key];
  };
  const refuse = (key: string, what: string) => {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option ${key}=${JSON.stringify(o[key])} (${what}) is not supported`, { file, field: key });
  };
  if (bool("use_gating")) refuse("use_gating", "gating");
  if (bool("phm_layer")) refuse("phm_layer", "PHM layers, Compacter");
  if (bool("is_parallel")) refuse("is_parallel", "parallel adapters");
  if (typeof o.scaling === "string") refuse("scaling", `${o.scaling} scaling`);
  if (typeof o.scaling !== "number" || !Number.isFinite(o.scaling)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option "scaling" is ${JSON.stringify(o.scaling)}, expected a number`, { file, field: "scaling" });
  }
  const residual = o.residual_before_ln;
  if (typeof residual !== "boolean" && residual !== "post_add") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option "residual_before_ln" is ${JSON.stringify(residual)}, expected true, false or "post_add"`, {
      file,
      field: "residual_before_ln",
    });
  }
  return {
    mh_adapter: bool("mh_adapter"),
    output_adapter: bool("output_adapter"),
    reduction_factor: reductionFactor(o.reduction_factor, file),
    non_linearity: activation(o.non_linearity, file),
    original_ln_before: bool("original_ln_before"),
    original_ln_after: bool("original_ln_after"),
    residual_before_ln: residual,
    adapter_residual_before_ln: bool("adapter_residual_before_ln"),
    ln_before: bool("ln_before"),
    ln_after: bool("ln_after"),
    scaling: o.scaling,
    leave_out: leaveOut(o.leave_out, file),
  };
}

function reductionFactor(v: unknown, file: string): number | Record<string, number> {
  const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
  if (positive(v)) return v as number;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const entries = Object.entries(v as Json);
    if (entries.length > 0 && entries.every(([k, x]) => (k === "default" || /^\d+$/.test(k)) && positive(x))) {
      return v as Record<string, number>;
    }
  }
  throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option "reduction_factor" is ${JSON.stringify(v)}, expected a positive number or {"<layer>": n, "default": n}`, {
    file,
    field: "reduction_factor",
  });
}

/** The library lower-cases the name before looking it up (Activation_Function_Class). */
function activation(v: unknown, file: string): BottleneckConfig["non_linearity"] {
  const name = typeof v === "string" ? v.toLowerCase() : v;
  if (!isActivation(name)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter non_linearity ${JSON.stringify(v)} is not supported (supported: ${ACTIVATIONS.join(", ")})`, {
      file,
      field: "non_linearity",
    });
  }
  return name;
}

function leaveOut(v: unknown, file: string): number[] {
  if (v === null) return [];
  if (!Array.isArray(v) || !v.every((i) => Number.isSafeInteger(i) && i >= 0)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter option "leave_out" is ${JSON.stringify(v)}, expected a list of layer indices`, { file, field: "leave_out" });
  }
  return v as number[];
}

/** inv_adapter, or v1's nested {"invertible_adapter": {"block_type": ...}} which the library maps onto it. */
function invertibleAdapter(options: Json, raw: Json, file: string): string | null {
  const legacy = raw.invertible_adapter as Json | null | undefined;
  const value = legacy ? legacy.block_type : options.inv_adapter;
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw new Specter2Error("BAD_CHECKPOINT", `${file}: invertible adapter ${JSON.stringify(value)} is not a block type name`, { file, field: "inv_adapter" });
  return value;
}
