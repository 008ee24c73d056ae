// The model on this thread: one base and its adapters in tfjs tensors, the forward pass of one padded batch of token
// ids, and the runner that runs it on the calling thread. The engine runs it in-process or in each worker thread, in
// Node and in the browser.
import * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";
import { Adapter, AdapterSet, unknownAdapter } from "../model/adapter";
import { BertModel } from "../model/bert";
import type { BackendCapabilities } from "../model/capabilities";
import type { BackendInfo } from "../engine/options";
import type { Precision, PrecisionOverrides, Pooling } from "../model/config";
import { precisionPolicy } from "../model/config";
import type { WeightHolding } from "../model/modules";
import { WeightSource } from "../model/modules";
import type { BatchAdapters } from "./inputs";
import type { ForwardRunner } from "./runner";
import type { BertTokenizer } from "../tokenizer";
import { checkStoredDtype, MANIFEST_FILE } from "../weights/modelDir";
import type { Manifest, OpenedModel } from "../weights/modelDir";
import { loadAdapterFiles, loadBaseTensors, loadModelTokenizer } from "../weights/openModel";

export interface LocalLoadOptions {
  /** Adapters to load next to the base: names from the model directory, or "all". */
  adapters: string[] | "all";
  /** The matrix products' precision (default fp32); bf16 and int8 where the backend offers them. */
  precision?: Precision;
  /** Overrides of which products run reduced at that precision (the fidelity and speed measurements use them). */
  overrides?: PrecisionOverrides;
}

/** BACKEND_UNAVAILABLE unless `backend` runs `precision`: fp32 runs everywhere, bf16 and int8 where offered (native). */
export function checkPrecisionBackend(precision: Precision, backend: BackendInfo, capabilities: BackendCapabilities): void {
  if (capabilities.precisions.includes(precision)) return;
  throw new Specter2Error(
    "BACKEND_UNAVAILABLE",
    `precision ${precision} runs on the native backend only (oneDNN's bf16 and int8 products); the ${backend.name} backend runs fp32: load with backend "native", or precision "fp32"`,
    { field: "precision" },
  );
}

/** The adapters a load asks for, by name, in the model directory's order for "all"; a name the directory does not
 *  have is refused (UNKNOWN_ADAPTER, naming those it has) before anything is read. */
export function adaptersToLoad(manifest: Manifest, requested: readonly string[] | "all"): string[] {
  const known = Object.keys(manifest.adapters);
  if (requested === "all") return known;
  for (const name of requested) if (!known.includes(name)) throw unknownAdapter(name, known);
  return [...requested];
}

export class LocalModel {
  readonly adapters = new AdapterSet();

  private constructor(
    readonly model: BertModel,
    readonly tokenizer: BertTokenizer,
    readonly opened: OpenedModel,
    readonly backend: BackendInfo,
    /** The backend's offer and this model's precision policy, which its weights were loaded under. */
    readonly holding: WeightHolding,
  ) {}

  /** The precision the matrix products run at. */
  get precision(): Precision {
    return this.holding.policy.precision;
  }

  /** The opened model's weights on the active backend, `backend`, which offers `capabilities` (both from the runtime
   *  that initialised it: which backends exist depends on the platform). */
  static async load(opened: OpenedModel, backend: BackendInfo, capabilities: BackendCapabilities, options: LocalLoadOptions): Promise<LocalModel> {
    const precision = options.precision ?? "fp32";
    checkPrecisionBackend(precision, backend, capabilities);
    checkStoredDtype(opened.manifest, opened.source.name(MANIFEST_FILE));
    const holding = { capabilities, policy: precisionPolicy(precision, options.overrides) };
    const tokenizer = await loadModelTokenizer(opened);
    const base = await loadBaseTensors(opened);
    let model: BertModel;
    try {
      model = BertModel.load(new WeightSource(base.tensors, base.origin, holding), opened.config);
    } catch (e) {
      for (const t of base.tensors.values()) if (!t.isDisposed) t.dispose();
      throw e;
    }
    const m = new LocalModel(model, tokenizer, opened, backend, holding);
    const names = adaptersToLoad(opened.manifest, options.adapters);
    try {
      for (const name of names) await m.loadAdapter(name);
    } catch (e) {
      m.dispose();
      throw e;
    }
    capabilities.releaseMemory();
    return m;
  }

  /** Loads one more adapter of the model directory next to the base. */
  async loadAdapter(name: string): Promise<void> {
    const files = await loadAdapterFiles(this.opened, name);
    try {
      this.adapters.add(name, Adapter.load(new WeightSource(files.tensors, files.origin, this.holding), files.spec, this.model.config));
    } catch (e) {
      for (const t of files.tensors.values()) if (!t.isDisposed) t.dispose();
      throw e;
    }
  }

  /** Token ids (each `[CLS] … [SEP]`) → vectors, one batch padded to its longest row; `adapter` null: the base,
   *  or one per row (rows of different adapters share the base's work: RowAdapters in src/model/adapter.ts). */
  async embedIds(ids: readonly number[][], adapter: BatchAdapters, pooling: Pooling = "cls"): Promise<Float32Array[]> {
    if (ids.length === 0) return [];
    const chosen = Array.isArray(adapter) ? (adapter as readonly (string | null)[]).map((a) => this.adapters.get(a)) : this.adapters.get(adapter as string | null);
    const batch = this.tokenizer.pad(ids);
    const pooled = tf.tidy(() => {
      const shape: [number, number] = [batch.batchSize, batch.seqLength];
      return this.model.forward(tf.tensor2d(batch.ids, shape, "int32"), tf.tensor2d(batch.attentionMask, shape, "int32"), { adapter: chosen, pooling }).pooled;
    });
    const flat = (await pooled.data()) as Float32Array;
    pooled.dispose();
    this.holding.capabilities.endPass();
    const hidden = this.model.config.hidden_size;
    return ids.map((_, r) => flat.slice(r * hidden, (r + 1) * hidden));
  }

  dispose(): void {
    this.adapters.dispose();
    this.model.dispose();
  }
}

/** The forward passes on the calling thread (`workers: 0`, and the page without a Web Worker). */
export class InProcessRunner implements ForwardRunner {
  readonly parallel = 1;

  constructor(readonly local: LocalModel) {}

  get backend(): BackendInfo {
    return this.local.backend;
  }

  get adapters(): readonly string[] {
    return this.local.adapters.names();
  }

  run(ids: number[][], adapter: BatchAdapters, pooling: Pooling): Promise<Float32Array[]> {
    return this.local.embedIds(ids, adapter, pooling);
  }

  async close(): Promise<void> {
    this.local.dispose();
  }
}
