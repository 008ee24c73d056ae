// tfjs-backend-cpu's backend with recycled kernel outputs (outputPool.ts). An output array goes back
// to the pool only when no tensor holds any view of it: tensors are counted per buffer, because cpu
// kernels such as Slice store a subarray of their input under a new tensor. Reads hand out copies of
// pooled arrays, so no array the pool may reuse ever leaves the backend.
import type { backend_util, DataId, DataType } from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeAddon } from "./addon";
import { OutputPool } from "./outputPool";

export class NativeBackend extends MathBackendCPU {
  private readonly pool = new OutputPool();
  /** Tensors declared constant (src/backend/constants.ts): their matmuls use pre-packed weights. */
  private readonly constants = new Set<DataId>();

  constructor(private readonly addon: NativeAddon) {
    super();
  }

  markConstant(dataId: DataId): void {
    if (this.data.has(dataId)) this.constants.add(dataId);
  }

  isConstant(dataId: DataId): boolean {
    return this.constants.has(dataId);
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
      // Its packed copies go first: once its memory is freed, another array may take its address.
      if (this.constants.delete(dataId) && values instanceof Float32Array && values.length > 0) this.addon.forgetPacked(values);
      this.release(values);
    }
    return removed;
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
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

  private recycle(buffer: ArrayBufferLike): void {
    this.holders.delete(buffer);
    this.pool.give(buffer as ArrayBuffer);
  }
}
