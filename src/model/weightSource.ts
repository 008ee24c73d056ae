// Strict weight lookup, in the spirit of nanoGPT's from_pretrained: every tensor the model takes is
// checked against the shape it expects, and tensors nobody took are reported, never silently kept.
import type * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";

export class WeightSource {
  /** `origin` names where the tensors came from (a file), for error messages. */
  constructor(
    private readonly tensors: Map<string, tf.Tensor>,
    readonly origin: string,
    private readonly prefix = "",
    private readonly taken = new Set<string>(),
  ) {}

  /** The same tensors seen under `prefix.name`: modules load by their own relative names. */
  child(name: string): WeightSource {
    return new WeightSource(this.tensors, this.origin, this.full(name), this.taken);
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
