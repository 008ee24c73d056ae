// tfjs-backend-cpu's backend with recycled kernel outputs (outputPool.ts). An output array goes back
// to the pool only when no tensor holds any view of it: tensors are counted per buffer, because cpu
// kernels such as Slice store a subarray of their input under a new tensor. Reads hand out copies of
// pooled arrays, so no array the pool may reuse ever leaves the backend.
import * as tf from "@tensorflow/tfjs-core";
import type { backend_util, DataId, DataType } from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BackendCapabilities } from "../../model/capabilities";
import type { Int8Scales, Precision } from "../../model/config";
import { PRECISIONS } from "../../model/config";
import type { NativeAddon } from "./addon";
import { PRECISION_CODES } from "./addon";
import { OutputPool } from "./outputPool";

/** A weight matrix packed by the addon in oneDNN's layout at its precision (fp32 included), its float32 values
 *  gone (keepWeight): the packed copy is the only one. */
export interface ReducedWeight {
  id: number;
  k: number;
  n: number;
  precision: Precision;
  /** How its int8 products quantize their activations. */
  int8Scales: Int8Scales;
}

/** The attribute of a BatchMatMul that asks for its two operands rounded to bf16 (tfjs passes kernel attributes on
 *  unread; the cpu kernel this backend falls back to ignores it). */
export const ACTIVATION_PRECISION_ATTR = "activationPrecision";

/** How much memory let go makes trimming the heap worth its cost (it walks the heap: a few ms). */
const TRIM_AFTER_BYTES = 64 * 2 ** 20;

export class NativeBackend extends MathBackendCPU {
  private readonly pool = new OutputPool();
  /** Weight matrices packed by the addon: their tensors hold no values (an empty array), the addon holds the packed copy. */
  private readonly reduced = new Map<DataId, ReducedWeight>();
  /** Bytes let go since the heap was last trimmed. */
  private released = 0;

  constructor(private readonly addon: NativeAddon) {
    super();
  }

  /** What this backend offers the model: attention's products batched (bf16 where asked), the erf GELU fused into
   *  the feed-forward's product (a oneDNN post-op, saving passes over its wide output), every precision, and weights
   *  packed for oneDNN. */
  readonly capabilities: BackendCapabilities = {
    attention: "batched",
    fusedActivations: { gelu: "gelu" },
    precisions: PRECISIONS,
    keepWeight: (weight, precision, int8Scales) => this.keepWeight(weight.dataId, weight.shape, precision, int8Scales),
    activationProduct: (a, b, transposeB, precision) => tf.engine().runKernel<typeof a>(tf.BatchMatMul, { a, b }, { transposeA: false, transposeB, [ACTIVATION_PRECISION_ATTR]: precision }),
    endPass: () => this.endForwardPass(),
    releaseMemory: () => this.releaseMemory(),
  };

  /** A weight the model keeps. A 2-D float32 matrix is packed now, at `precision`, and its float32 values dropped:
   *  one resident copy, in the layout the products read (fp32 packed that way multiplies bit for bit as from the
   *  plain array: test/native/backend.test.ts). Any other tensor (a vector, an integer tensor) stays as it is. */
  keepWeight(dataId: DataId, shape: readonly number[], precision: Precision, int8Scales: Int8Scales): void {
    const entry = this.data.get(dataId);
    if (entry === undefined) return;
    const values = entry.values;
    if (shape.length !== 2 || entry.dtype !== "float32" || !(values instanceof Float32Array) || values.length === 0 || this.reduced.has(dataId)) return;
    const [k, n] = shape;
    const id = this.addon.packReduced(values, [k, n], PRECISION_CODES[precision]);
    this.reduced.set(dataId, { id, k, n, precision, int8Scales });
    // tfjs keeps the tensor's entry (its shape, dtype and reference count are the engine's bookkeeping), with no
    // values: the float32 copy is freed, not recycled (no other tensor may take over a weight's memory unasked).
    entry.values = new Float32Array(0);
    this.forget(values);
    this.released += values.byteLength;
  }

  /** The packed copy of a weight matrix, or undefined for any other tensor. */
  reducedWeight(dataId: DataId): ReducedWeight | undefined {
    return this.reduced.get(dataId);
  }

  /** A packed weight's values as the products use them (fp32 as stored, bf16 widened, int8 dequantized), row-major [k, n]. */
  unpacked(w: ReducedWeight): Float32Array {
    const out = new Float32Array(w.k * w.n);
    this.addon.unpackReduced(w.id, out);
    return out;
  }
  /** Buffers of arrays taken from the pool → how many tensor data entries hold a view of them. */
  private readonly holders = new Map<ArrayBufferLike, number>();

  /** An array of `length` values for a kernel to fill (contents undefined until it does). */
  output(length: number): Float32Array {
    const array = this.pool.take(length);
    this.holders.set(array.buffer, 0);
    return array;
  }

  /** Returns an output a kernel took but did not store (it failed). */
  discard(array: Float32Array): void {
    if (this.holders.get(array.buffer) === 0) this.recycle(array.buffer);
  }

  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    this.hold(values);
    return dataId;
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.hold(values);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const removed = super.disposeData(dataId, force);
    if (removed && values !== undefined) {
      const reduced = this.reduced.get(dataId);
      if (reduced !== undefined) {
        this.reduced.delete(dataId);
        this.addon.dropReduced(reduced.id);
      }
      this.release(values);
    }
    return removed;
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    const reduced = this.reduced.get(dataId);
    if (reduced !== undefined) return this.unpacked(reduced);
    const values = super.readSync(dataId);
    return values instanceof Float32Array && this.holders.has(values.buffer) ? values.slice() : values;
  }

  /** Bytes of outputs held for reuse now. */
  get pooledBytes(): number {
    return this.pool.bytes;
  }

  private hold(values: backend_util.BackendValues): void {
    const buffer = (values as ArrayBufferView | undefined)?.buffer;
    const count = buffer && this.holders.get(buffer);
    if (buffer !== undefined && count !== undefined) this.holders.set(buffer, count + 1);
  }

  private release(values: backend_util.BackendValues): void {
    const buffer = (values as ArrayBufferView).buffer;
    const count = buffer && this.holders.get(buffer);
    if (count === undefined) return;
    if (count > 1) this.holders.set(buffer, count - 1);
    else this.recycle(buffer);
  }

  /** Lets go of an array without recycling its buffer (the garbage collector frees it once no tensor holds a view). */
  private forget(values: backend_util.BackendValues): void {
    const buffer = (values as ArrayBufferView).buffer;
    const count = buffer && this.holders.get(buffer);
    if (count === undefined) return;
    if (count > 1) this.holders.set(buffer, count - 1);
    else {
      this.holders.delete(buffer);
      this.pool.letGo(buffer as ArrayBuffer);
    }
  }

  /** A forward pass ended: the pool keeps what recent passes needed, and
   *  where much memory was let go since the last pass (a model's float32 weights once packed, pooled outputs beyond
   *  the bound), the heap's free pages go back to the system (addon.trimMemory has the measurement). */
  endForwardPass(): void {
    this.released += this.pool.endPass();
    this.releaseMemory();
  }

  /** Memory was let go (a model loaded): trims the heap if it was much. */
  releaseMemory(): void {
    if (this.released < TRIM_AFTER_BYTES) return;
    this.released = 0;
    this.addon.trimMemory();
  }

  private recycle(buffer: ArrayBufferLike): void {
    this.holders.delete(buffer);
    this.pool.give(buffer as ArrayBuffer);
  }
}
