// Telling the backend which tensors never change (model weights), so it may keep them in a faster
// layout: the native backend pre-packs matrix-product weights for oneDNN. Other backends ignore it.
import * as tf from "@tensorflow/tfjs-core";

interface ConstantAware {
  markConstant(dataId: tf.DataId): void;
}

/** `t` must never be written again (tfjs tensors are immutable; this also promises it is not a view of
 *  memory that changes). Call on the backend the tensor lives on, right after making it. */
export function declareConstant(t: tf.Tensor): void {
  (tf.backend() as Partial<ConstantAware>).markConstant?.(t.dataId);
}
