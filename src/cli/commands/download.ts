// `specter2 download`: SPECTER2's Hub files (src/hub/downloadSpecter2.ts), then convertModel into <out>/model.
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { dtypeOption } from "../options";
import { HUB_DIR } from "../../hub/downloadSpecter2";
import { ADAPTER_NAMES } from "../../hub/specter2Repos";
import type { ModelDType } from "../../weights/modelDir";

interface DownloadArgs {
  out: string;
  revision: string;
  adapters: string[];
  dtype: ModelDType;
}

export const MODEL_SUBDIR = "model";

export const downloadCommand: CommandModule<object, DownloadArgs> = {
  command: "download",
  describe:
    "Download SPECTER2 (allenai/specter2_base and its adapters) from the Hugging Face Hub and convert it. " +
    "HF_ENDPOINT overrides the Hub's address, HF_TOKEN is sent to it as the access token. " +
    "Each file's sha256 is checked where the Hub gives one; a rerun resumes partial files and skips complete ones.",
  builder: (y) =>
    y
      .option("out", {
        type: "string",
        default: "./specter2",
        describe: `Folder for the Hub files (<out>/${HUB_DIR}/<owner>--<repo>/) and the converted model (<out>/${MODEL_SUBDIR}, for \`specter2 embed --model\`)`,
      })
      .option("revision", {
        type: "string",
        default: "main",
        describe: "Branch, tag or commit of every repo; a complete file is not fetched again for the same revision",
      })
      .option("adapters", {
        type: "string",
        array: true,
        default: ADAPTER_NAMES,
        describe: `Adapters to fetch, comma- or space-separated: ${ADAPTER_NAMES.join(", ")}`,
        coerce: (values: string[]) =>
          values
            .flatMap((v) => v.split(","))
            .map((v) => v.trim())
            .filter((v) => v !== ""),
      })
      .option("dtype", dtypeOption),
  handler: async (argv) => {
    const [{ convertModel }, { downloadSummary }, { downloadSpecter2 }, { hubEndpoint, hubToken }] = await Promise.all([
      import("../../../convert/convert"),
      import("../../hub/downloadReport"),
      import("../../hub/downloadSpecter2"),
      import("../../hub/hubUrls"),
    ]);
    const downloaded = await downloadSpecter2({
      out: argv.out,
      revision: argv.revision,
      adapters: argv.adapters,
      hub: { endpoint: hubEndpoint(), token: hubToken() },
    });
    process.stdout.write(downloadSummary(downloaded, argv.revision));
    const model = join(argv.out, MODEL_SUBDIR);
    const manifest = await convertModel({
      base: downloaded.base.dir,
      adapters: downloaded.adapters.map(({ name, dir }) => ({ name, dir })),
      out: model,
      dtype: argv.dtype,
      // SPECTER2's model card embeds papers with proximity; without it, the first adapter fetched.
      defaultAdapter: downloaded.adapters.some((a) => a.name === "proximity") ? "proximity" : undefined,
    });
    const adapters = Object.keys(manifest.adapters);
    process.stdout.write(
      `converted model (${manifest.dtype}, adapters: ${adapters.length > 0 ? adapters.join(", ") : "none"}): ${model}\n` +
        `default adapter: ${manifest.default_adapter ?? "none (the bare base)"}\n` +
        `embed with: specter2 embed --model ${model} --input papers.jsonl --output embeddings.jsonl\n`,
    );
  },
};
