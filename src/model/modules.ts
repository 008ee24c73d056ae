// The building blocks every module of the model uses: strict weight lookup (WeightSource), torch.nn.Linear,
// torch.nn.LayerNorm, and the non-linearities by the names configs use.
import * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";
import type { BackendCapabilities } from "./capabilities";
import type { PrecisionPolicy, WeightRole, Activation } from "./config";

/** How a model holds its weights: on which backend's terms, at which precision. */
export interface WeightHolding {
  capabilities: BackendCapabilities;
  policy: PrecisionPolicy;
}

/**
 * Strict weight lookup, in the spirit of nanoGPT's from_pretrained: every tensor a module takes is checked against
 * the shape it expects, and tensors nobody took are reported, never silently kept. Modules load by their own
 * relative names (`child`), so the checkpoint's dotted names are built by walking the module tree, in one place.
 */
export class WeightSource {
  /** `origin` names where the tensors came from (a file), for error messages. */
  constructor(
    private readonly tensors: Map<string, tf.Tensor>,
    readonly origin: string,
    readonly holding: WeightHolding,
    private readonly prefix = "",
    private readonly taken = new Set<string>(),
  ) {}

  /** The same tensors seen under `prefix.name`. */
  child(name: string): WeightSource {
    return new WeightSource(this.tensors, this.origin, this.holding, this.full(name), this.taken);
  }

  has(name: string): boolean {
    return this.tensors.has(this.full(name));
  }

  take(name: string, shape: readonly number[]): tf.Tensor {
    const full = this.full(name);
    const t = this.tensors.get(full);
    if (t === undefined) {
      throw new Specter2Error("BAD_CHECKPOINT", `${this.origin}: missing tensor "${full}" (expected shape [${shape.join(", ")}])`, { file: this.origin, tensor: full });
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Specter2Error("BAD_CHECKPOINT", `${this.origin}: tensor "${full}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`, {
        file: this.origin,
        tensor: full,
      });
    }
    this.taken.add(full);
    return t;
  }

  /** Names present but never taken (after loading a whole model, this should be empty). */
  untaken(): string[] {
    return [...this.tensors.keys()].filter((n) => !this.taken.has(n));
  }

  private full(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
}

/** torch.nn.Linear. PyTorch stores the weight [out, in]; it is transposed once here, at load, so every call is a
 *  plain 2-D x·W, and handed to the backend to keep at the precision of its role. */
export class Linear {
  private constructor(
    readonly weight: tf.Tensor2D,
    readonly bias: tf.Tensor1D,
  ) {}

  static load(w: WeightSource, inFeatures: number, outFeatures: number, role: WeightRole): Linear {
    const stored = w.take("weight", [outFeatures, inFeatures]);
    const weight = tf.transpose(stored) as tf.Tensor2D;
    stored.dispose();
    const { capabilities, policy } = w.holding;
    capabilities.keepWeight(weight, policy.weights[role], policy.int8Scales);
    return new Linear(weight, w.take("bias", [outFeatures]) as tf.Tensor1D);
  }

  /** x: [rows, in] → [rows, out]; `activation`: one the backend's fused matMul applies itself (its own name for it). */
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

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const ACTIVATIONS: Record<Activation, (x: tf.Tensor) => tf.Tensor> = {
  relu: (x) => tf.relu(x),
  // The exact erf form, as torch.nn.functional.gelu and Hugging Face's "gelu".
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
  return ACTIVATIONS[name];
}
