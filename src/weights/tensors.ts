// Safetensors on disk → float32 tf.Tensors, the only place raw bytes become tensors.
import * as tf from "@tensorflow/tfjs-core";
import { toFloat32 } from "./float";
import { readSafetensors } from "./safetensors";

/** Every tensor of the file as float32 (F16/BF16 widen exactly). The caller owns the tensors. */
export function loadFloatTensors(path: string): Map<string, tf.Tensor> {
  const { tensors } = readSafetensors(path);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, raw] of tensors) out.set(name, tf.tensor(toFloat32(raw, `${path}: ${name}`, { file: path, tensor: name }), raw.shape, "float32"));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
