// The engines under test, behind one interface: embed every batch of a workload, in order.
import * as tf from "@tensorflow/tfjs-core";
import type { Precision } from "../src/model/config";
import { loadAddon } from "../src/backend/native/addon";
import type { NativeBackend } from "../src/backend/native/nativeBackend";
import { Specter2 } from "../src/node/specter2";

export interface Engine {
  /** Embeds the workload's batches (each already length-sorted and padded by the engine as it likes). */
  run(batches: number[][][]): Promise<void>;
  /** Where this project's native backend keeps memory now: packed weights, and free outputs its pool holds. */
  memory?(): { packedBytes: number; pooledBytes: number };
  close(): Promise<void>;
}

/** SPECTER2's proximity adapter: what papers are embedded with. */
export const ADAPTER = "proximity";

/** This project in one thread (native: its kernels on every core): one Specter2, batches one after another. */
export async function tfjsEngine(model: string, backend: "wasm" | "cpu" | "native" | "node", precision: Precision = "fp32"): Promise<Engine> {
  const m = await Specter2.load(model, { workers: 0, backend, precision, adapters: [ADAPTER] });
  return {
    async run(batches) {
      for (const b of batches) await m.embedBatch(b, ADAPTER);
    },
    memory: backend === "native" ? () => ({ packedBytes: loadAddon().reducedBytes(), pooledBytes: (tf.backend() as unknown as NativeBackend).pooledBytes }) : undefined,
    async close() {
      await m.close();
    },
  };
}

/** This project on `workers` threads: every batch handed to the pool at once, as Specter2.embed does. */
export async function poolEngine(model: string, workers: number): Promise<Engine> {
  const pool = await Specter2.load(model, { workers, backend: "wasm", adapters: [ADAPTER] });
  return {
    async run(batches) {
      await Promise.all(batches.map((b) => pool.embedBatch(b, ADAPTER)));
    },
    close: () => pool.close(),
  };
}

/** The part of onnxruntime-node's API the benchmark uses. */
interface OrtModule {
  InferenceSession: {
    create(path: string, options: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<unknown>; release(): Promise<void> }>;
  };
  Tensor: new (type: "int64", data: BigInt64Array, dims: number[]) => unknown;
}

/** onnxruntime-node is not a dependency: its install script downloads binaries, which fails offline
 *  and would fail `npm ci`. Install it for benchmarking with ORT_INSTALL (README, Benchmarks). */
export const ORT_PACKAGE = "onnxruntime-node";
export const ORT_INSTALL = "npm install --no-save --ignore-scripts onnxruntime-node@1.30";

/** onnxruntime-node on the PyTorch export of the same weights. */
export async function ortEngine(onnx: string, threads: number): Promise<Engine> {
  let ort: OrtModule;
  try {
    ort = require(ORT_PACKAGE) as OrtModule;
  } catch {
    throw new Error(`onnxruntime-node is not installed: ${ORT_INSTALL}`);
  }
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
  return {
    async run(batches) {
      for (const b of batches) {
        const width = Math.max(...b.map((r) => r.length));
        const ids = new BigInt64Array(b.length * width);
        const mask = new BigInt64Array(b.length * width);
        b.forEach((row, i) => row.forEach((id, j) => ((ids[i * width + j] = BigInt(id)), (mask[i * width + j] = 1n))));
        const dims = [b.length, width];
        await session.run({ input_ids: new ort.Tensor("int64", ids, dims), attention_mask: new ort.Tensor("int64", mask, dims) });
      }
    },
    close: () => session.release(),
  };
}
