// BertEmbeddings (transformers models/bert/modeling_bert.py): LN(word[id] + position[pos] + token_type[0]).
import * as tf from "@tensorflow/tfjs-core";
import type { BertConfig } from "./config";
import { LayerNorm } from "./layers";
import type { WeightSource } from "./weightSource";

export class BertEmbeddings {
  private constructor(
    private readonly word: tf.Tensor2D,
    /** position + token_type[0], summed once at load: SPECTER2's token_type_ids are all 0. */
    private readonly positionAndType: tf.Tensor2D,
    private readonly layerNorm: LayerNorm,
  ) {}

  static load(w: WeightSource, c: BertConfig): BertEmbeddings {
    const word = w.take("word_embeddings.weight", [c.vocab_size, c.hidden_size]) as tf.Tensor2D;
    const position = w.take("position_embeddings.weight", [c.max_position_embeddings, c.hidden_size]);
    const tokenType = w.take("token_type_embeddings.weight", [c.type_vocab_size, c.hidden_size]);
    const positionAndType = tf.tidy<tf.Tensor2D>(() => tf.add(position, tf.slice(tokenType, [0, 0], [1, c.hidden_size])));
    position.dispose();
    tokenType.dispose();
    return new BertEmbeddings(word, positionAndType, LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  /** ids: int32 [batch, seq] → [batch·seq, hidden] */
  forward(ids: tf.Tensor2D): tf.Tensor2D {
    const [batch, seq] = ids.shape;
    const hidden = this.word.shape[1];
    const words = tf.reshape(tf.gather(this.word, tf.reshape(ids, [-1])), [batch, seq, hidden]);
    // Broadcast over the batch rather than tiled: one pass less over [batch·seq, hidden].
    const summed = tf.add(words, tf.slice(this.positionAndType, [0, 0], [seq, -1]));
    return this.layerNorm.forward(tf.reshape<tf.Rank.R2>(summed, [batch * seq, hidden]));
  }

  parameters(): tf.Tensor[] {
    return [this.word, this.positionAndType, ...this.layerNorm.parameters()];
  }
}
