// The two parameterised building blocks every module uses: Linear and LayerNorm.
import * as tf from "@tensorflow/tfjs-core";
import { declareConstant } from "../backend/constants";
import type { WeightSource } from "./weightSource";

/** torch.nn.Linear. PyTorch stores the weight [out, in]; it is transposed once here, at load,
 *  so every call is a plain 2-D x·W with no transpose. */
export class Linear {
  private constructor(
    readonly weight: tf.Tensor2D,
    readonly bias: tf.Tensor1D,
  ) {}

  static load(w: WeightSource, inFeatures: number, outFeatures: number): Linear {
    const stored = w.take("weight", [outFeatures, inFeatures]);
    const weight = tf.transpose(stored) as tf.Tensor2D;
    stored.dispose();
    declareConstant(weight);
    return new Linear(weight, w.take("bias", [outFeatures]) as tf.Tensor1D);
  }

  /** x: [rows, in] → [rows, out]; `activation`: one the backend's _FusedMatMul applies (see fusedActivation). */
  forward(x: tf.Tensor2D, activation?: string): tf.Tensor2D {
    // The name is the backend's to interpret: tfjs-core passes it to the kernel unchecked.
    return tf.fused.matMul({ a: x, b: this.weight, bias: this.bias, activation: activation as tf.fused.Activation | undefined }) as tf.Tensor2D;
  }

  parameters(): tf.Tensor[] {
    return [this.weight, this.bias];
  }
}

/** torch.nn.LayerNorm over the last axis (biased variance, eps inside the square root). */
export class LayerNorm {
  private constructor(
    readonly weight: tf.Tensor1D,
    readonly bias: tf.Tensor1D,
    readonly eps: number,
  ) {}

  static load(w: WeightSource, size: number, eps: number): LayerNorm {
    return new LayerNorm(w.take("weight", [size]) as tf.Tensor1D, w.take("bias", [size]) as tf.Tensor1D, eps);
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add<T>(tf.mul(normed, this.weight), this.bias);
    });
  }

  parameters(): tf.Tensor[] {
    return [this.weight, this.bias];
  }
}
