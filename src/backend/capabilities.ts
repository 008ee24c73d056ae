// What the active tfjs backend offers the model (src/model/capabilities.ts). A backend of ours says it itself (the
// native backend's `capabilities`); tfjs' own backends offer nothing beyond their kernels, and differ only in how
// attention's products are best issued. No Node imports: the browser entry uses it.
import * as tf from "@tensorflow/tfjs-core";
import type { AttentionShape, BackendCapabilities } from "../model/capabilities";

/** tfjs backends with a real batched product (tfjs-node's TensorFlow) or on a GPU, which must not read data back
 *  per head; wasm and cpu run attention per head (src/model/bert.ts, BertSelfAttention.perHead, says why). */
const BATCHED_ATTENTION = ["tensorflow", "webgl", "webgpu"];

export function activeCapabilities(): BackendCapabilities {
  const own = (tf.backend() as { capabilities?: BackendCapabilities }).capabilities;
  return own ?? plainCapabilities(BATCHED_ATTENTION.includes(tf.getBackend()) ? "batched" : "perHead");
}

/** A backend that offers nothing beyond tfjs' kernels: fp32 only, no fused activation, attention issued as `attention`. */
export function plainCapabilities(attention: AttentionShape): BackendCapabilities {
  return {
    attention,
    fusedActivations: {},
    precisions: ["fp32"],
    keepWeight: () => undefined,
    activationProduct: (a, b, transposeB) => tf.matMul(a, b, false, transposeB),
    endPass: () => undefined,
    releaseMemory: () => undefined,
  };
}
