// `specter2-tfjs/langchain`: SPECTER2 in-process as LangChain's `Embeddings` (@langchain/core, an optional peer
// dependency). SPECTER2's model card embeds papers and queries with different adapters, which is exactly LangChain's
// split: embedDocuments with `proximity`, embedQuery with `adhoc_query`.
//   const embeddings = new Specter2Embeddings({ model: "allenai/specter2" });
//   const store = await MemoryVectorStore.fromTexts(texts, metadatas, embeddings);
//   const hits = await store.similaritySearch("citation graphs", 5);
//   await embeddings.close();
import type { EmbeddingsParams } from "@langchain/core/embeddings";
import { Embeddings } from "@langchain/core/embeddings";
import type { Paper } from "../engine/inputs";
import type { LoadOptions } from "../node/specter2";
import { Specter2 } from "../node/specter2";

export interface Specter2EmbeddingsParams extends EmbeddingsParams {
  /** A model directory, or a Hub name `owner/name[@revision]` (default "allenai/specter2": SPECTER2 with its four
   *  adapters, fetched into the Hugging Face cache and converted once). */
  model?: string;
  /** How the model loads (backend, workers, precision; for a Hub name revision, dtype, offline, endpoint, token…). */
  loadOptions?: LoadOptions;
  /** The adapter of embedDocuments (default "proximity"); null: the bare base. */
  documentAdapter?: string | null;
  /** The adapter of embedQuery (default "adhoc_query"); null: the bare base. */
  queryAdapter?: string | null;
  /** Inputs per forward pass (default 8). */
  batchSize?: number;
  /** Tokens per input including [CLS] and [SEP] (default 512, or the model's position limit if lower). */
  maxLength?: number;
  /** Unit-length vectors (default false: SPECTER2's own). */
  normalize?: boolean;
}

export const DEFAULT_MODEL = "allenai/specter2";

export class Specter2Embeddings extends Embeddings {
  readonly model: string;
  readonly documentAdapter: string | null;
  readonly queryAdapter: string | null;
  private readonly loadOptions: LoadOptions;
  private readonly embedOptions: { batchSize?: number; maxLength?: number; normalize?: boolean };
  private loading: Promise<Specter2> | undefined;

  /** The model is loaded at the first call, not here. An embedding that fails is not retried unless `maxRetries`
   *  asks (it computes here: a second try fails the same way). */
  constructor(fields: Specter2EmbeddingsParams = {}) {
    super({ maxRetries: 0, ...fields });
    this.model = fields.model ?? DEFAULT_MODEL;
    this.documentAdapter = fields.documentAdapter === undefined ? "proximity" : fields.documentAdapter;
    this.queryAdapter = fields.queryAdapter === undefined ? "adhoc_query" : fields.queryAdapter;
    this.loadOptions = fields.loadOptions ?? {};
    this.embedOptions = { batchSize: fields.batchSize, maxLength: fields.maxLength, normalize: fields.normalize };
  }

  /** One vector per document, in order: strings as they are, papers as `title [SEP] abstract`. */
  async embedDocuments(documents: (string | Paper)[]): Promise<number[][]> {
    return this.embed(documents, this.documentAdapter);
  }

  async embedQuery(query: string): Promise<number[]> {
    return (await this.embed([query], this.queryAdapter))[0];
  }

  /** The loaded model (loading it at the first call). */
  async specter2(): Promise<Specter2> {
    this.loading ??= Specter2.load(this.model, this.loadOptions).catch((e: unknown) => {
      this.loading = undefined; // a later call tries again
      throw e;
    });
    return this.loading;
  }

  /** Frees the model (and its workers); a later call loads it again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading) await (await loading).close();
  }

  private async embed(inputs: (string | Paper)[], adapter: string | null): Promise<number[][]> {
    const model = await this.specter2();
    const vectors = await this.caller.call(() => model.embed(inputs, { ...this.embedOptions, adapter }));
    return vectors.map((v) => Array.from(v));
  }
}
