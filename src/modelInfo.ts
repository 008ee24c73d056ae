// What a model directory holds (`specter2 info`), from its manifest and configs alone: no weights are loaded and
// no backend is initialised, so it is instant even for the full-size model. And what a Hub name resolves to, in words.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nativeAddonPath, nativeInfo } from "./backend/native/addon";
import type { CpuIsa, NativePrecisionInfo } from "./backend/native/precision";
import { cpuIsa, formatIsa, formatPrecisionSupport, nativePrecisionInfo } from "./backend/native/precision";
import type { BackendProbe } from "./backend/candidates";
import { probeAutoBackend, hint } from "./backend/candidates";
import { defaultAdapterOf } from "./engine/defaults";
import type { AdapterSpec } from "./model/config";
import { bottleneckSize } from "./model/config";
import { modelPath, openModelDirectory } from "./node/modelDirectory";
import type { SourceProvenance } from "./weights/modelDir";
import { describeProvenance, provenanceFields } from "./hub/sources";
import type { HubNameInfo } from "./hub/hubModel";

/** Where a part came from (all optional: older directories lack them): how it was obtained (a local folder,
 *  the Hugging Face cache, a download), the Hub repository, the revision asked for and the commit it resolved to. */
export type Provenance = SourceProvenance;

export interface AdapterInfo extends Provenance {
  name: string;
  /** The adapter's own name in its checkpoint, e.g. "[PRX]". */
  checkpointName: string;
  source: string;
  sites: ("attention" | "output")[];
  /** Bottleneck width per layer; null where the layer is in leave_out. */
  bottleneck: (number | null)[];
  config: AdapterSpec["config"];
  skipped: string[];
}

export interface ModelInfo {
  dir: string;
  format: string;
  formatVersion: number;
  dtype: string;
  converter: string;
  created: string;
  /** When adapters were last added or removed in place (`convert --into`). */
  updated?: string;
  architecture: {
    layers: number;
    hidden: number;
    heads: number;
    headSize: number;
    intermediate: number;
    vocab: number;
    activation: string;
    maxPositions: number;
    typeVocab: number;
    layerNormEps: number;
  };
  base: Provenance & { source: string; ignored: string[] };
  files: { path: string; bytes: number; sha256: string }[];
  adapters: AdapterInfo[];
  /** The adapter used when a call names none (null: the bare base): src/engine/defaults.ts's rule. */
  defaultAdapter: string | null;
  backend: BackendProbe;
  /** The native backend here: its oneDNN and default thread count, or why it is unavailable. */
  native: { onednn: string; threads: number } | { unavailable: string };
  /** The CPU's instruction sets that reduced precision runs on (/proc/cpuinfo). */
  cpu: CpuIsa;
  /** Per precision, the oneDNN implementation of a large product here and whether it runs in hardware; null where
   *  the native addon is unavailable (bf16 and int8 run on native only). */
  precisions: NativePrecisionInfo | null;
}

export function describeModel(dir: string): ModelInfo {
  const { manifest, config } = openModelDirectory(dir);
  const adapters = Object.entries(manifest.adapters).map(([name, entry]): AdapterInfo => {
    const spec = readAdapterSpec(modelPath(dir, entry.config));
    const c = spec.config;
    return {
      name,
      checkpointName: spec.name,
      source: entry.source,
      ...provenanceFields(entry),
      sites: [...(c.mh_adapter ? ["attention" as const] : []), ...(c.output_adapter ? ["output" as const] : [])],
      bottleneck: Array.from({ length: config.num_hidden_layers }, (_, layer) => (c.leave_out.includes(layer) ? null : bottleneckSize(c, spec.hidden_size, layer))),
      config: c,
      skipped: entry.skipped,
    };
  });
  return {
    dir,
    format: manifest.format,
    formatVersion: manifest.formatVersion,
    dtype: manifest.dtype,
    converter: manifest.converter,
    created: manifest.created,
    ...(manifest.updated === undefined ? {} : { updated: manifest.updated }),
    architecture: {
      layers: config.num_hidden_layers,
      hidden: config.hidden_size,
      heads: config.num_attention_heads,
      headSize: config.hidden_size / config.num_attention_heads,
      intermediate: config.intermediate_size,
      vocab: config.vocab_size,
      activation: config.hidden_act,
      maxPositions: config.max_position_embeddings,
      typeVocab: config.type_vocab_size,
      layerNormEps: config.layer_norm_eps,
    },
    base: { source: manifest.base.source, ...provenanceFields(manifest.base), ignored: manifest.base.ignored },
    files: Object.entries(manifest.files).map(([path, f]) => ({ path, bytes: f.bytes, sha256: f.sha256 })),
    adapters,
    defaultAdapter: defaultAdapterOf(
      manifest.default_adapter,
      adapters.map((a) => a.name),
    ),
    backend: probeAutoBackend(),
    native: describeNative(),
    cpu: cpuIsa(),
    precisions: describePrecisions(),
  };
}

function describePrecisions(): NativePrecisionInfo | null {
  try {
    return nativePrecisionInfo();
  } catch {
    return null; // describeNative says why
  }
}

function readAdapterSpec(path: string): AdapterSpec {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as AdapterSpec;
  } catch (e) {
    throw new Error(`${path}: cannot read the adapter configuration (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

/** `specter2 info NAME`: what the name is, each repo in the Hugging Face cache (or what it lacks), the conversions. */
export function formatHubNameInfo(info: HubNameInfo): string {
  const plan = info.plan;
  const out = [`Hub name ${info.name}${info.revision === "main" ? "" : `@${info.revision}`}`];
  if (plan === null) {
    out.push(
      "  not SPECTER2's; what it is (a BERT base, or an AdapterHub adapter and the base its adapter_config.json names) is read from its files at its first load:",
      `  the Hugging Face cache ${info.hubCache} does not hold it`,
    );
  } else {
    out.push(
      `  ${plan.what}`,
      `  loads the base ${plan.base.repo} with ${plan.adapters.length === 0 ? "no adapter" : `the adapters ${plan.adapters.map((a) => a.name).join(", ")}`}; default adapter: ${plan.defaultAdapter ?? "none (the bare base)"}`,
      "",
      `Hugging Face cache ${info.hubCache}`,
      ...info.repos.map((r) => {
        const label = `  ${r.part.padEnd(Math.max(...info.repos.map((x) => x.part.length)))}  ${r.repo}@${r.revision}`;
        return r.snapshot !== undefined ? `${label}: commit ${r.commit}, ${r.snapshot}` : `${label}: ${r.missing}; fetched at the first load`;
      }),
    );
  }
  out.push("", `converted (${join(info.assets, "specter2-tfjs")})`);
  if (info.converted.length === 0) out.push("  none yet: the first load converts it");
  for (const c of info.converted) out.push(`  ${c.dtype}: ${c.dir}${c.current ? " (of the cached commits: what a load takes)" : " (of other commits)"}`);
  return `${out.join("\n")}\n`;
}

const SITE_TEXT = { attention: "attention (after self-attention)", output: "output (after the feed-forward)" };

export function formatInfo(info: ModelInfo): string {
  const a = info.architecture;
  const out = [
    `model ${info.dir}`,
    `  format ${info.format} v${info.formatVersion}, ${info.dtype} weights; converted by ${info.converter} on ${info.created}${info.updated === undefined ? "" : `, adapters changed on ${info.updated}`}`,
    `  base converted from ${describeProvenance(info.base.source, info.base)}`,
    ...(info.base.ignored.length > 0 ? [`  ignored base tensors: ${info.base.ignored.join(", ")}`] : []),
    "",
    "architecture (BERT encoder)",
    `  layers ${a.layers}, hidden ${a.hidden}, heads ${a.heads} × ${a.headSize}, intermediate ${a.intermediate}, activation ${a.activation}`,
    `  vocabulary ${a.vocab}, max positions ${a.maxPositions}, token types ${a.typeVocab}, layer_norm_eps ${a.layerNormEps}`,
    "",
    "files",
    ...formatFiles(info.files),
    "",
    `adapters (${info.adapters.length}), default: ${info.defaultAdapter ?? "none (the bare base)"}`,
    ...info.adapters.flatMap((ad) => formatAdapter(ad, a.hidden)),
    "",
    "backend (--backend auto)",
    `  would pick ${info.backend.choice ?? "none"}: ${info.backend.reason}`,
    "unavailable" in info.native ? `  native: unavailable (${info.native.unavailable})` : `  native: oneDNN ${info.native.onednn}, ${info.native.threads} threads (set with --threads)`,
    "",
    "precision (--precision: fp32 everywhere; bf16 and int8 on native only)",
    `  CPU ${formatIsa(info.cpu)}`,
    ...(info.precisions === null
      ? ["  bf16, int8: unavailable (the native backend is not built)"]
      : [`  oneDNN ISA ${info.precisions.isa}`, ...formatPrecisionSupport(info.precisions).map((l) => `  ${l}`)]),
  ];
  return out.join("\n") + "\n";
}

function formatFiles(files: ModelInfo["files"]): string[] {
  const width = Math.max(...files.map((f) => f.path.length));
  const total = files.reduce((s, f) => s + f.bytes, 0);
  return [...files.map((f) => `  ${f.path.padEnd(width)}  ${formatBytes(f.bytes).padStart(10)}  sha256 ${f.sha256}`), `  ${"total".padEnd(width)}  ${formatBytes(total).padStart(10)}`];
}

function formatAdapter(ad: AdapterInfo, hidden: number): string[] {
  const c = ad.config;
  const factor = typeof c.reduction_factor === "number" ? `reduction_factor ${c.reduction_factor}` : `reduction_factor ${JSON.stringify(c.reduction_factor)}`;
  return [
    `  ${ad.name} (${ad.checkpointName}) from ${describeProvenance(ad.source, ad)}`,
    `    sites: ${ad.sites.map((s) => SITE_TEXT[s]).join(", ") || "none"}`,
    `    bottleneck size: ${formatBottleneck(ad.bottleneck)} (hidden ${hidden} / ${factor}), non_linearity ${c.non_linearity}`,
    `    leave_out: ${c.leave_out.length > 0 ? c.leave_out.join(", ") : "none"}`,
    `    ${Object.entries(c)
      .filter(([k]) => !SHOWN_ABOVE.has(k))
      .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
      .join(", ")}`,
    ...(ad.skipped.length > 0 ? [`    skipped (prediction heads): ${ad.skipped.join(", ")}`] : []),
  ];
}

const SHOWN_ABOVE = new Set(["mh_adapter", "output_adapter", "reduction_factor", "non_linearity", "leave_out"]);

/** "48 in every layer", or per layer runs: "layer 0: 8; layers 2-3: 4; layer 1: none". */
function formatBottleneck(sizes: (number | null)[]): string {
  const runs: { from: number; to: number; size: number | null }[] = [];
  sizes.forEach((size, layer) => {
    const last = runs[runs.length - 1];
    if (last && last.size === size) last.to = layer;
    else runs.push({ from: layer, to: layer, size });
  });
  if (runs.length === 1 && runs[0].size !== null) return `${runs[0].size} in every layer`;
  return runs.map((r) => `${r.from === r.to ? `layer ${r.from}` : `layers ${r.from}-${r.to}`}: ${r.size ?? "none"}`).join("; ");
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Loads only the addon (a shared library; no backend is registered). */
function describeNative(): ModelInfo["native"] {
  try {
    return nativeInfo();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" ? `not built: ${nativeAddonPath()} is missing` : (e as Error).message;
    return { unavailable: `${why}${hint("native")}` };
  }
}
