// The served model on the main thread (`serve --workers 0`): no copy of the weights per worker, but each
// forward pass blocks the event loop, so /health and /metrics wait for it.
import type { EmbedInput, Specter2 } from "../specter2";
import type { BertTokenizer } from "../tokenizer";
import { describeModel, ModelDescription, ServedModel } from "./servedModel";

export class InProcessModel implements ServedModel {
  constructor(readonly model: Specter2) {}

  get description(): ModelDescription {
    const m = this.model;
    return describeModel(m.directory, m.adapters.names(), m.backend, 0);
  }

  get tokenizer(): BertTokenizer {
    return this.model.tokenizer;
  }

  textOf(input: EmbedInput): string {
    return this.model.textOf(input);
  }

  embedBatch(rows: number[][], adapter: string | null): Promise<Float32Array[]> {
    return this.model.embedIds(rows, this.model.adapters.get(adapter));
  }

  async close(): Promise<void> {
    this.model.dispose();
  }
}
