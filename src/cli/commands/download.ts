// `specter2 download`: SPECTER2's Hub files (src/hub/obtainSources.ts's downloadSpecter2), from the Hugging Face cache where
// it has them, then convertModel into <out>/model.
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { OPTIONS } from "../../engine/options";
import { yargsOption } from "../options";
import { parseAdapterArgument } from "./convert";
import { HUB_DIR } from "../../hub/obtainSources";
import { ADAPTER_NAMES, DEFAULT_VARIANT, VARIANT_NAMES } from "../../weights/hub/repos";
import type { ModelDType } from "../../weights/modelDir";

interface DownloadArgs {
  out: string;
  variant: string;
  revision: string;
  adapters: string[];
  base?: string;
  adapter: string[];
  offline: boolean;
  "require-sha256": boolean;
  dtype: ModelDType;
}

export const MODEL_SUBDIR = "model";

export const downloadCommand: CommandModule<object, DownloadArgs> = {
  command: "download",
  describe:
    "Download SPECTER2 (allenai/specter2_base and its adapters, or the aug2023refresh variant, or any base and adapter repos) from the Hugging Face Hub and convert it. " +
    "Repos the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub) holds are taken from it, checked against their blob names, without the network. " +
    "HF_ENDPOINT overrides the Hub's address, HF_TOKEN is sent to it as the access token. " +
    "Each file is checked against the hash the Hub gives (sha256 for weights, git sha1 for small files) and said to be not verified where it gives none (--require-sha256 refuses it); " +
    "a rerun resumes partial files and skips complete ones.",
  builder: (y) =>
    y
      .option("out", {
        type: "string",
        default: "./specter2",
        describe: `Folder for the Hub files (<out>/${HUB_DIR}/<owner>--<repo>/) and the converted model (<out>/${MODEL_SUBDIR}, for \`specter2 embed --model\`)`,
      })
      .option("variant", {
        type: "string",
        choices: VARIANT_NAMES,
        default: DEFAULT_VARIANT,
        describe: "Which SPECTER2: original (allenai/specter2_base + allenai/specter2, …) or aug2023refresh (allenai/specter2_aug2023refresh_base + …), trained on newer data",
      })
      .option("revision", {
        type: "string",
        default: "main",
        describe: "Branch, tag or commit of every repo that names none with @REV; a complete file is not fetched again for the same revision",
      })
      .option("adapters", {
        type: "string",
        array: true,
        default: ADAPTER_NAMES,
        describe: `The variant's adapters to fetch, comma- or space-separated: ${ADAPTER_NAMES.join(", ")}; none for none`,
        coerce: (values: string[]) => {
          const names = values
            .flatMap((v) => v.split(","))
            .map((v) => v.trim())
            .filter((v) => v !== "");
          return names.length === 1 && names[0] === "none" ? [] : names;
        },
      })
      .option("base", {
        type: "string",
        describe: "Another base model in place of the variant's: a Hub repo owner/name[@REV] or a folder (an existing path is always a folder)",
      })
      .option("adapter", {
        type: "string",
        array: true,
        default: [] as string[],
        describe:
          "NAME=SOURCE: one more adapter (e.g. your own), a Hub repo owner/name[@REV] or a folder with adapter_config.json and pytorch_adapter.bin or adapter.safetensors; " +
          "repeatable; a NAME of the variant's replaces its repo (proximity=allenai/specter2@v1); NAME defaults to the repo's or folder's name",
      })
      .option("offline", {
        type: "boolean",
        default: false,
        describe: "Never touch the network (also HF_HUB_OFFLINE=1): everything must be in the Hugging Face cache, else the error names what is missing",
      })
      .option("require-sha256", {
        type: "boolean",
        default: false,
        describe:
          "Refuse (exit 6) any file that cannot be verified against a hash the Hub gives: the sha256 of weights (LFS) files, the git sha1 of small files (the Hub has no sha256 for those), a cached file's blob name",
      })
      .option("dtype", yargsOption(OPTIONS.dtype)),
  handler: async (argv) => {
    const [{ convertModel }, { downloadSpecter2, downloadSummary, provenanceOf }, { hubEndpoint, hubToken }, { hfCacheDir, hubOfflineFromEnv }] = await Promise.all([
      import("../../../convert/convert"),
      import("../../hub/obtainSources"),
      import("../../hub/hubHttp"),
      import("../../hub/hfCache"),
    ]);
    const offline = argv.offline || hubOfflineFromEnv();
    // A bad HF_ENDPOINT is an error at once, unless offline (where the Hub is never asked).
    const hub = offline ? () => ({ endpoint: hubEndpoint(), token: hubToken() }) : { endpoint: hubEndpoint(), token: hubToken() };
    const downloaded = await downloadSpecter2({
      out: argv.out,
      revision: argv.revision,
      variant: argv.variant,
      adapters: argv.adapters,
      base: argv.base,
      extraAdapters: argv.adapter.map(parseAdapterArgument).map(({ name, dir }) => ({ name, ref: dir })),
      hub,
      cache: hfCacheDir(),
      offline,
      requireSha256: argv["require-sha256"],
    });
    process.stdout.write(downloadSummary(downloaded, argv.revision));
    const model = join(argv.out, MODEL_SUBDIR);
    const manifest = await convertModel({
      base: downloaded.base.dir,
      baseProvenance: provenanceOf(downloaded.base),
      adapters: downloaded.adapters.map((a) => ({ name: a.name, dir: a.dir, provenance: provenanceOf(a) })),
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
