// An AdapterHub adapter's tensors → our names `layer.{i}.{attention|output}.{module}.{weight|bias}`,
// every expected tensor present with the shape its config implies, nothing else accepted.
import type { AdapterSite } from "../../model/config";
import { bottleneckSize } from "../../model/config";
import type { RawTensor } from "../dtypes";
import type { AdapterModuleName } from "../modelDir";
import { adapterTensorName } from "../modelDir";
import type { AdapterConfigFile } from "./adapterConfig";
import { listNames, sameShape } from "./tensorChecks";
import { Specter2Error } from "../../errors";

/** Where the adapters library keeps a bottleneck in BERT; the legacy infixes are renamed by its loader. */
const SITES: Record<string, AdapterSite> = { "attention.output": "attention", output: "output" };
const INFIXES = ["adapters", "attention_text_task_adapters", "attention_text_lang_adapters", "layer_text_task_adapters", "layer_text_lang_adapters"];
/** adapter_down is an nn.Sequential: [LayerNorm (ln_before),] Linear, activation. */
const MODULES = ["adapter_down.0", "adapter_down.1", "adapter_up", "adapter_norm_before", "adapter_norm_after"];
const INVERTIBLE = /(^|\.)invertible_(lang_)?adapters\./;

interface Found {
  original: string;
  tensor: RawTensor;
}

export function mapAdapterWeights(source: Map<string, RawTensor>, adapter: AdapterConfigFile, numLayers: number, file: string): Map<string, RawTensor> {
  const { name, hidden_size: hidden, config } = adapter.spec;
  const pattern = new RegExp(
    `^(?:bert\\.)?encoder\\.layer\\.(\\d+)\\.(${Object.keys(SITES).map(escape).join("|")})\\.(?:${INFIXES.join("|")})` +
      `\\.${escape(name)}\\.(${MODULES.map(escape).join("|")})\\.(weight|bias)$`,
  );
  const found = new Map<string, Found>();
  const unexpected: string[] = [];
  for (const [original, tensor] of source) {
    const m = pattern.exec(original);
    if (!m) {
      unexpected.push(original);
      continue;
    }
    const key = `${Number(m[1])}.${SITES[m[2]]}.${m[3]}.${m[4]}`;
    const clash = found.get(key);
    if (clash) throw new Specter2Error("BAD_CHECKPOINT", `${file}: "${clash.original}" and "${original}" are the same adapter tensor`, { file, tensor: original, adapter: name });
    found.set(key, { original, tensor });
  }
  if (unexpected.length > 0) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: tensors that are not part of bottleneck adapter "${name}": ${listNames(unexpected)}`, { file, tensor: unexpected[0], adapter: name });
  }

  const out = new Map<string, RawTensor>();
  const missing: string[] = [];
  const sourceName = (layer: number, site: AdapterSite, from: string, param: string) =>
    `encoder.layer.${layer}.${site === "attention" ? "attention.output" : "output"}.adapters.${name}.${from}.${param}`;
  const take = (layer: number, site: AdapterSite, from: string, param: string, shape: number[]): RawTensor | undefined => {
    const key = `${layer}.${site}.${from}.${param}`;
    const hit = found.get(key);
    if (!hit) return undefined;
    found.delete(key);
    if (!sameShape(hit.tensor.shape, shape)) {
      throw new Specter2Error(
        "BAD_CHECKPOINT",
        `${file}: tensor "${hit.original}" has shape [${hit.tensor.shape.join(", ")}], expected [${shape.join(", ")}] ` +
          `for adapter "${name}" with hidden_size ${hidden} and reduction_factor ${JSON.stringify(config.reduction_factor)}`,
        { file, tensor: hit.original, adapter: name },
      );
    }
    return hit.tensor;
  };
  const put = (layer: number, site: AdapterSite, module: AdapterModuleName, from: string, shapes: { weight: number[]; bias: number[] }) => {
    for (const param of ["weight", "bias"] as const) {
      const t = take(layer, site, from, param, shapes[param]);
      if (t) out.set(adapterTensorName(layer, site, module, param), t);
      else missing.push(sourceName(layer, site, from, param));
    }
  };

  const norm = { weight: [hidden], bias: [hidden] };
  const sites: AdapterSite[] = [...(config.mh_adapter ? ["attention" as const] : []), ...(config.output_adapter ? ["output" as const] : [])];
  for (let layer = 0; layer < numLayers; layer++) {
    if (config.leave_out.includes(layer)) continue;
    const size = layerBottleneck(adapter, layer);
    for (const site of sites) {
      if (config.ln_before) putNormBefore(layer, site);
      put(layer, site, "adapter_down", config.ln_before ? "adapter_down.1" : "adapter_down.0", { weight: [size, hidden], bias: [size] });
      put(layer, site, "adapter_up", "adapter_up", { weight: [hidden, size], bias: [hidden] });
      if (config.ln_after) put(layer, site, "adapter_norm_after", "adapter_norm_after", norm);
    }
  }

  /** With ln_before the LayerNorm is both adapter_norm_before and adapter_down.0 (one tensor); files may hold either or both. */
  function putNormBefore(layer: number, site: AdapterSite): void {
    for (const param of ["weight", "bias"] as const) {
      const named = take(layer, site, "adapter_norm_before", param, [hidden]);
      const inSequential = take(layer, site, "adapter_down.0", param, [hidden]);
      if (named && inSequential && !sameBytes(named, inSequential)) {
        throw new Specter2Error("BAD_CHECKPOINT", `${file}: layer ${layer} ${site}: adapter_norm_before.${param} and adapter_down.0.${param} differ, but are one LayerNorm`, {
          file,
          adapter: name,
        });
      }
      const t = named ?? inSequential;
      if (t) out.set(adapterTensorName(layer, site, "adapter_norm_before", param), t);
      else missing.push(sourceName(layer, site, "adapter_norm_before", param));
    }
  }

  if (missing.length > 0) throw new Specter2Error("BAD_CHECKPOINT", `${file}: adapter "${name}" is missing tensors: ${listNames(missing)}`, { file, tensor: missing[0], adapter: name });
  if (found.size > 0) {
    const extra = [...found.values()].map((f) => f.original);
    throw new Specter2Error(
      "BAD_CHECKPOINT",
      `${file}: tensors that adapter "${name}"'s config does not use (leave_out, sites, layer norms, or layers beyond the model's ${numLayers}): ${listNames(extra)}`,
      { file, tensor: extra[0], adapter: name },
    );
  }
  return out;
}

/**
 * Invertible adapters are not supported. Legacy task adapters declared one they never trained; the library
 * drops it when the weights have none (loading.py _fix_legacy_config), and so do we.
 */
export function checkInvertible(adapter: AdapterConfigFile, source: Map<string, RawTensor>, configFile: string, weightsFile: string): void {
  const weights = [...source.keys()].filter((k) => INVERTIBLE.test(k));
  if (weights.length > 0)
    throw new Specter2Error("BAD_CHECKPOINT", `${weightsFile}: invertible adapters are not supported (tensors ${listNames(weights)})`, { file: weightsFile, tensor: weights[0] });
  if (adapter.invertibleAdapter !== null && !adapter.legacyTaskAdapter) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configFile}: adapter option inv_adapter=${JSON.stringify(adapter.invertibleAdapter)} (invertible adapters) is not supported`, {
      file: configFile,
      field: "inv_adapter",
      adapter: adapter.spec.name,
    });
  }
}

function layerBottleneck(adapter: AdapterConfigFile, layer: number): number {
  try {
    return bottleneckSize(adapter.spec.config, adapter.spec.hidden_size, layer);
  } catch (e) {
    const field = e instanceof Specter2Error ? e.field : undefined;
    throw new Specter2Error("BAD_CHECKPOINT", `adapter "${adapter.spec.name}": ${(e as Error).message}`, { adapter: adapter.spec.name, field }, { cause: e });
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function sameBytes(a: RawTensor, b: RawTensor): boolean {
  if (a.dtype !== b.dtype || a.data.byteLength !== b.data.byteLength) return false;
  for (let i = 0; i < a.data.byteLength; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}
