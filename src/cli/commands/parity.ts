// `specter2 parity`: compare a converted model with a PyTorch reference file, layer by layer.
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";
import type { Precision } from "../../model/config";
import { DEFAULT_TOLERANCE } from "../../engine/defaults";
import { pickOptions } from "../../engine/options";
import type { ArgsOf } from "../options";
import { checkArgs, yargsOptions } from "../options";

/** The measured bounds a reduced precision is held to by default (test/native/precision.test.ts, docs/backends.md
 *  "Precision"): a layer's values move far past fp32's bound at bf16, more at int8, so only the embeddings' cosine is
 *  bounded. */
export const PRECISION_TOLERANCE: Record<Exclude<Precision, "fp32">, { maxAbs: number; minCosine: number }> = {
  bf16: { maxAbs: Infinity, minCosine: 0.9999 },
  int8: { maxAbs: Infinity, minCosine: 0.999 },
};

const ENGINE = pickOptions("backend", "threads", "precision");

interface ParityArgs extends ArgsOf<typeof ENGINE> {
  model: string;
  fixture: string;
  "max-abs"?: number;
  "min-cosine"?: number;
}

export const parityCommand: CommandModule<object, ParityArgs> = {
  command: "parity",
  describe: "Compare a converted model with a PyTorch reference (reference.safetensors + reference.json): per-layer differences; exits 1 beyond tolerance",
  builder: (y) =>
    y
      .option("model", modelOption())
      .option("fixture", { type: "string", demandOption: true, describe: "reference.safetensors written by convert/reference (its .json must sit next to it)" })
      .options(yargsOptions(ENGINE))
      .check((a) => checkArgs(a, ENGINE))
      .option("max-abs", {
        type: "number",
        defaultDescription: `${DEFAULT_TOLERANCE.maxAbs}; with --precision bf16 or int8: not bounded`,
        describe: "Largest absolute difference allowed at any valid position of any layer",
      })
      .option("min-cosine", {
        type: "number",
        defaultDescription: `${DEFAULT_TOLERANCE.minCosine}; bf16 ${PRECISION_TOLERANCE.bf16.minCosine}, int8 ${PRECISION_TOLERANCE.int8.minCosine}`,
        describe: "Lowest cosine similarity allowed between our and the reference's embeddings",
      }),
  handler: async (args) => {
    const [{ Specter2 }, { compareWithReference, formatParityTable }] = await Promise.all([import("../../node/specter2"), import("../../parity")]);
    // Every layer's output is compared, which only a model on this thread has.
    const model = await Specter2.load(await modelDir(args.model), { backend: args.backend, threads: args.threads, workers: 0, precision: args.precision });
    const defaults = args.precision === undefined || args.precision === "fp32" ? DEFAULT_TOLERANCE : PRECISION_TOLERANCE[args.precision];
    const tolerance = { maxAbs: args["max-abs"] ?? defaults.maxAbs, minCosine: args["min-cosine"] ?? defaults.minCosine };
    try {
      const diffs = await compareWithReference(model, args.fixture, tolerance);
      if (diffs.length === 0) throw new Error(`${args.fixture}: none of its runs matches the base or an adapter of ${args.model}`);
      process.stdout.write(`backend: ${model.backend.name} (${model.backend.reason}), precision ${model.precision}\n${formatParityTable(diffs)}\n`);
      const bad = diffs.filter((d) => !d.ok);
      if (bad.length > 0) {
        process.stdout.write(`FAIL: ${bad.length} comparisons beyond tolerance; first: ${bad[0].run} ${bad[0].what}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`OK: ${diffs.length} comparisons within max |Δ| ${tolerance.maxAbs} and cosine ≥ ${tolerance.minCosine}\n`);
      }
    } finally {
      await model.close();
    }
  },
};
