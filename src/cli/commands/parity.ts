// `specter2 parity`: compare a converted model with a PyTorch reference file, layer by layer.
import type { CommandModule } from "yargs";
import { backendOption, checkThreads, threadsOption } from "../options";
import type { BackendChoice } from "../../backend/candidates";
import { DEFAULT_TOLERANCE } from "../../engine/defaults";

interface ParityArgs {
  model: string;
  fixture: string;
  backend: BackendChoice;
  threads?: number;
  "max-abs": number;
  "min-cosine": number;
}

export const parityCommand: CommandModule<object, ParityArgs> = {
  command: "parity",
  describe: "Compare a converted model with a PyTorch reference (reference.safetensors + reference.json): per-layer differences; exits 1 beyond tolerance",
  builder: (y) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "Converted model directory (from `specter2 convert`)" })
      .option("fixture", { type: "string", demandOption: true, describe: "reference.safetensors written by convert/reference (its .json must sit next to it)" })
      .option("backend", backendOption)
      .option("threads", threadsOption)
      .check(checkThreads)
      .option("max-abs", { type: "number", default: DEFAULT_TOLERANCE.maxAbs, describe: "Largest absolute difference allowed at any valid position of any layer" })
      .option("min-cosine", { type: "number", default: DEFAULT_TOLERANCE.minCosine, describe: "Lowest cosine similarity allowed between our and the reference's embeddings" }),
  handler: async (args) => {
    const [{ Specter2 }, { compareWithReference, formatParityTable }] = await Promise.all([import("../../specter2"), import("../../parity")]);
    // Every layer's output is compared, which only a model on this thread has.
    const model = await Specter2.load(args.model, { backend: args.backend, threads: args.threads, workers: 0 });
    try {
      const diffs = await compareWithReference(model, args.fixture, { maxAbs: args["max-abs"], minCosine: args["min-cosine"] });
      if (diffs.length === 0) throw new Error(`${args.fixture}: none of its runs matches the base or an adapter of ${args.model}`);
      process.stdout.write(`backend: ${model.backend.name} (${model.backend.reason})\n${formatParityTable(diffs)}\n`);
      const bad = diffs.filter((d) => !d.ok);
      if (bad.length > 0) {
        process.stdout.write(`FAIL: ${bad.length} comparisons beyond tolerance; first: ${bad[0].run} ${bad[0].what}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`OK: ${diffs.length} comparisons within max |Δ| ${args["max-abs"]} and cosine ≥ ${args["min-cosine"]}\n`);
      }
    } finally {
      await model.close();
    }
  },
};
