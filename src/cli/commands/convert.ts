// `specter2 convert`: thin wrapper over convertModel (convert/convert.ts).
import type { CommandModule } from "yargs";
import { dtypeOption } from "../options";
import type { AdapterSource } from "../../../convert/convert";
import type { Manifest, ModelDType } from "../../weights/modelDir";

interface ConvertArgs {
  base: string;
  adapter: string[];
  "default-adapter"?: string;
  out: string;
  dtype: ModelDType;
}

/** "NAME=DIR" or just "DIR" (the name is then the directory's base name). A DIR containing "=" needs NAME=. */
export function parseAdapterArgument(arg: string): AdapterSource {
  const eq = arg.indexOf("=");
  if (eq < 0) return { dir: arg };
  const dir = arg.slice(eq + 1);
  if (dir === "") throw new Error(`--adapter ${arg}: no directory after "="`);
  return { name: arg.slice(0, eq), dir };
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: "convert",
  describe: "Convert Hugging Face Hub files (a BERT base and AdapterHub adapters) into a specter2-tfjs model directory (layout: weights/README.md)",
  builder: (yargs) =>
    yargs
      .option("base", {
        type: "string",
        demandOption: true,
        describe: "Hub snapshot of the base model (config.json, vocab.txt, tokenizer_config.json, pytorch_model.bin or model.safetensors), e.g. allenai/specter2_base",
      })
      .option("adapter", {
        type: "string",
        array: true,
        default: [] as string[],
        describe:
          "NAME=DIR: an AdapterHub adapter directory (adapter_config.json + pytorch_adapter.bin or adapter.safetensors) to include as NAME; repeatable; NAME defaults to the directory's name",
      })
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "Model directory to write; an existing model directory there is replaced only once the new one is complete",
      })
      .option("default-adapter", {
        type: "string",
        describe: "The adapter embed, the library and serve use when a call names none (recorded in manifest.json); default: the first --adapter",
      })
      .option("dtype", dtypeOption),
  handler: async (argv) => {
    const { convertModel } = await import("../../../convert/convert");
    const manifest = await convertModel({
      base: argv.base,
      adapters: argv.adapter.map(parseAdapterArgument),
      out: argv.out,
      dtype: argv.dtype,
      defaultAdapter: argv["default-adapter"],
    });
    process.stdout.write(summary(argv.out, manifest));
  },
};

function summary(out: string, m: Manifest): string {
  const adapters = Object.keys(m.adapters);
  const lines = [
    `wrote ${out} (${m.dtype})`,
    `  base: ${m.base.source}`,
    ...adapters.map((name) => `  adapter ${name}: ${m.adapters[name].source}`),
    `  default adapter: ${m.default_adapter ?? "none (the bare base)"}`,
  ];
  if (m.base.ignored.length > 0) lines.push(`  ignored base tensors (not part of the encoder): ${m.base.ignored.join(", ")}`);
  for (const name of adapters) {
    if (m.adapters[name].skipped.length > 0) lines.push(`  skipped in ${name}: ${m.adapters[name].skipped.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
