// The non-linearities of DESIGN.md §3, by the names configs use.
import * as tf from "@tensorflow/tfjs-core";
import type { Activation } from "./config";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const ACTIVATION_FNS: Record<Activation, (x: tf.Tensor) => tf.Tensor> = {
  relu: (x) => tf.relu(x),
  // Exact erf form, as torch.nn.functional.gelu and Hugging Face's "gelu".
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
  // The tanh approximation (Hugging Face's NewGELUActivation).
  gelu_new: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)), 1)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  // torch.nn.LeakyReLU's default negative slope.
  leakyrelu: (x) => tf.leakyRelu(x, 0.01),
};

export function activation(name: Activation): (x: tf.Tensor) => tf.Tensor {
  return ACTIVATION_FNS[name];
}

/** The activation name a backend's _FusedMatMul applies itself for `name`, or null where it does not.
 *  Only the native backend fuses the erf GELU (a oneDNN post-op on the feed-forward product, saving
 *  five passes over its [rows, 3072] output); tfjs' own kernels have no GELU. */
export function fusedActivation(name: Activation, backendName: string): string | null {
  return name === "gelu" && backendName === "native" ? "gelu" : null;
}
