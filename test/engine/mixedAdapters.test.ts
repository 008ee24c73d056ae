// One forward pass, many adapters: a batch whose rows name different adapters (and the bare base) gives each row
// the vector a single-adapter batch of the same rows gives it. The base's work is the same matrix products over the
// same padded batch either way, and a bottleneck or LayerNorm works row by row, so the bound is exact equality:
// measured 0 on wasm, cpu and native.
import * as tf from "@tensorflow/tfjs-core";
import { encodeInputs } from "../../src/engine/inputs";
import type { ForwardOptions } from "../../src/model/bert";
import { Specter2 } from "../../src/node/specter2";
import { convertModelFixture } from "../helpers/modelFixtures";
import { parityBackends } from "../helpers/nativeBackends";

const TINY = `${__dirname}/../../weights/specter2-tiny`;

const inputs = Array.from({ length: 9 }, (_, i) =>
  i % 4 === 3 ? `query ${i} about graphs` : { title: `Paper ${i} on citation graphs`, abstract: "We embed scientific papers. ".repeat(i * 2) },
);

/** Every row, embedded in one batch with `perRow`'s adapters, against the same batch with one adapter at a time. */
async function expectMixedEqualsSingle(model: Specter2, perRow: (string | null)[]): Promise<void> {
  // One batch for all rows (batchSize ≥ rows): the same padding in every call.
  const mixed = await model.embed(inputs, { adapter: perRow, batchSize: inputs.length });
  for (const name of new Set(perRow)) {
    const single = await model.embed(inputs, { adapter: name, batchSize: inputs.length });
    perRow.forEach((p, i) => {
      if (p === name) expect(Array.from(mixed[i])).toEqual(Array.from(single[i]));
    });
  }
}

describe.each(parityBackends())("on %s", (backend) => {
  it("the demo model's four adapters and the base, mixed in one batch", async () => {
    const model = await Specter2.load(TINY, { backend, workers: 0 });
    try {
      // The base's rows first, so the adapters' rows (one flow: their steps around the weights run together) start mid-batch.
      const names = [null, ...model.adapterNames];
      await expectMixedEqualsSingle(
        model,
        inputs.map((_, i) => names[i % names.length]),
      );
    } finally {
      await model.close();
    }
  });

  // houlsby: adapters at both sites (mh_adapter); stress: leave_out layers, ln_before/ln_after, scaling, legacy names.
  it.each(["houlsby", "stress"])("the %s fixture's adapters and the base, mixed in one batch", async (fixture) => {
    const { out, adapters } = await convertModelFixture(fixture);
    const model = await Specter2.load(out, { backend, workers: 0 });
    try {
      const names = [...adapters, null];
      await expectMixedEqualsSingle(
        model,
        inputs.map((_, i) => names[(i * 7) % names.length]),
      );
    } finally {
      await model.close();
    }
  });
});

it("reorders a mixed batch by adapter inside the pass and back: mean pooling and every layer's states equal single-adapter batches", async () => {
  const model = await Specter2.load(TINY, { backend: "wasm", workers: 0 });
  try {
    const local = model.local!;
    const names = [...model.adapterNames, null];
    const perRow = inputs.map((_, i) => names[(i * 3) % names.length]); // interleaved: the pass must reorder
    const encoded = encodeInputs(model.tokenizer, inputs, 512);
    const seq = Math.max(...encoded.map((r) => r.length));
    const ids = tf.tensor2d(
      encoded.flatMap((r) => [...r, ...new Array<number>(seq - r.length).fill(0)]),
      [encoded.length, seq],
      "int32",
    );
    const mask = tf.tensor2d(
      encoded.flatMap((r) => [...r.map(() => 1), ...new Array<number>(seq - r.length).fill(0)]),
      [encoded.length, seq],
      "int32",
    );
    const run = (adapter: ForwardOptions["adapter"]) => local.model.forward(ids, mask, { adapter, pooling: "mean", hiddenStates: true });
    const mixed = run(perRow.map((n) => (n === null ? null : local.adapters.get(n)!)));
    for (const name of new Set(perRow)) {
      const single = run(name === null ? null : local.adapters.get(name)!);
      const rows = perRow.flatMap((n, i) => (n === name ? [i] : []));
      const pick = (t: tf.Tensor) => tf.tidy(() => tf.gather(t, rows).arraySync());
      expect(pick(mixed.pooled)).toEqual(pick(single.pooled));
      mixed.hiddenStates!.forEach((state, k) => expect(pick(state)).toEqual(pick(single.hiddenStates![k])));
      tf.dispose([single.pooled, ...single.hiddenStates!]);
    }
    tf.dispose([mixed.pooled, ...mixed.hiddenStates!, ids, mask]);
  } finally {
    await model.close();
  }
});

describe("per-input adapters", () => {
  let model: Specter2;
  beforeAll(async () => {
    model = await Specter2.load(TINY, { backend: "wasm", workers: 2 });
  });
  afterAll(async () => {
    await model?.close();
  });

  it("on worker threads, across batches, equal the single-adapter calls; undefined is the default adapter", async () => {
    const perRow = inputs.map((_, i) => (["proximity", "adhoc_query", null, undefined] as const)[i % 4]);
    const mixed = await model.embed(inputs, { adapter: perRow, batchSize: 3 });
    for (const name of ["proximity", "adhoc_query", null] as const) {
      const single = await model.embed(inputs, { adapter: name, batchSize: 3 });
      perRow.forEach((p, i) => {
        if ((p === undefined ? model.defaultAdapter : p) === name) expect(Array.from(mixed[i])).toEqual(Array.from(single[i]));
      });
    }
  });

  it("refuses a list of the wrong length and an unknown name among them", async () => {
    await expect(model.embed(inputs, { adapter: ["proximity"] })).rejects.toMatchObject({ code: "BAD_INPUT", field: "adapter" });
    await expect(model.embed(inputs.slice(0, 2), { adapter: ["proximity", "nope"] })).rejects.toMatchObject({ code: "UNKNOWN_ADAPTER", adapter: "nope" });
  });
});
