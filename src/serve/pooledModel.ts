// The served model in worker threads (`serve`'s default): tfjs kernels are synchronous, so a forward pass
// on the main thread would stall every other request, /health included, for its whole duration.
import type { Specter2Pool } from "../pool/specter2Pool";
import type { EmbedInput } from "../specter2";
import type { BertTokenizer } from "../tokenizer";
import { describeModel, ModelDescription, ServedModel } from "./servedModel";

export class PooledModel implements ServedModel {
  readonly description: ModelDescription;

  constructor(readonly pool: Specter2Pool) {
    this.description = describeModel(pool.directory, pool.adapters, pool.backend, pool.workers);
  }

  get tokenizer(): BertTokenizer {
    return this.pool.tokenizer;
  }

  textOf(input: EmbedInput): string {
    return this.pool.textOf(input);
  }

  embedBatch(rows: number[][], adapter: string | null): Promise<Float32Array[]> {
    // The queue formed this batch under its token budget: one job on one worker, not split again.
    return this.pool.embedIds(rows, { adapter, batchSize: rows.length });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
