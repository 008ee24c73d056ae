// Safetensors' raw tensors → float32 tf.Tensors, the only place raw bytes become tensors.
import * as tf from "@tensorflow/tfjs-core";
import type { RawTensor } from "./dtypes";
import { dequantizeInt8, toFloat32 } from "./float";
import { checkFiniteWeights } from "./integrity";

/** Every tensor as float32 (F16/BF16 widen exactly, stored int8 is dequantized), refused if a value is NaN or ±Inf; `file` names them in errors.
 *  The caller owns the tensors. */
export function floatTensors(raw: ReadonlyMap<string, RawTensor>, file: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of dequantizeInt8(raw, file)) {
      const values = toFloat32(t, `${file}: ${name}`, { file, tensor: name });
      checkFiniteWeights(values, file, name);
      out.set(name, tf.tensor(values, t.shape, "float32"));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
