// What `specter2 embed` needs of a model, whichever thread computes: worker threads by default (the
// event loop stays free for progress output, and wasm gets one worker per core), or the main thread.
import type { BackendChoice } from "../backend/select";
import { defaultWorkers } from "../pool/defaultWorkers";
import { Specter2Pool } from "../pool/specter2Pool";
import { EmbedInput, EmbedOptions, Specter2 } from "../specter2";
import { openModelDirectory } from "../weights/loadModelDir";

export interface EmbedModel {
  embed(inputs: readonly EmbedInput[], options: EmbedOptions): Promise<Float32Array[]>;
  /** Loaded adapters, in the directory's order. */
  adapterNames: readonly string[];
  /** The tokenizer's separator, written between title and abstract. */
  sepToken: string;
  /** Where the forward passes run, for the summary line: "native", "wasm (2 workers)". */
  runsOn: string;
  close(): Promise<void>;
}

export interface EmbedModelOptions {
  backend: BackendChoice;
  threads?: number;
  verify?: boolean;
  /** Worker threads; 0: the main thread; default: defaultWorkers(backend). */
  workers?: number;
}

export async function openEmbedModel(dir: string, options: EmbedModelOptions): Promise<EmbedModel> {
  const { backend, threads, verify } = options;
  const workers = options.workers ?? defaultWorkers(backend);
  if (workers === 0) {
    const model = await Specter2.load(dir, { backend, threads, verify });
    return {
      embed: (inputs, o) => model.embed(inputs, o),
      adapterNames: model.adapters.names(),
      sepToken: model.tokenizer.sepToken,
      runsOn: model.backend.name,
      close: async () => model.dispose(),
    };
  }
  // Checked once here rather than by every worker.
  if (verify) openModelDirectory(dir, { verify: true });
  const pool = await Specter2Pool.load(dir, { workers, backend, threads });
  return {
    embed: (inputs, o) => pool.embed(inputs, o),
    adapterNames: pool.adapters,
    sepToken: pool.tokenizer.sepToken,
    runsOn: workers === 1 ? pool.backend.name : `${pool.backend.name} (${workers} workers)`,
    close: () => pool.close(),
  };
}
