// `specter2 convert`: Hub files (folders, or Hub repositories taken from the Hugging Face cache or fetched)
// → convertModel (convert/convert.ts); or, with --into, adapters added to / removed from a model directory.
import type { CommandModule } from "yargs";
import { OPTIONS } from "../../engine/options";
import { yargsOption } from "../options";
import type { AdapterSource } from "../../../convert/convert";
import type { Manifest, ModelDType } from "../../weights/modelDir";

interface ConvertArgs {
  base?: string;
  adapter: string[];
  "default-adapter"?: string;
  out?: string;
  into?: string;
  "remove-adapter": string[];
  dtype?: ModelDType;
  revision: string;
  offline: boolean;
}

/**
 * "NAME=SOURCE" or just "SOURCE", a folder or a Hub repo `owner/name[@rev]` (the name is then the folder's base
 * name or the repo's name). A SOURCE containing "=" needs NAME=. `dir` holds the SOURCE as given.
 */
export function parseAdapterArgument(arg: string): AdapterSource {
  const eq = arg.indexOf("=");
  if (eq < 0) return { dir: arg };
  const dir = arg.slice(eq + 1);
  if (dir === "") throw new Error(`--adapter ${arg}: no folder or Hub repository after "="`);
  return { name: arg.slice(0, eq), dir };
}

const SOURCE = "a folder, or a Hub repository owner/name[@REV] taken from the Hugging Face cache, else downloaded into it (an existing path is always a folder)";

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: "convert",
  describe:
    "Convert a BERT base and AdapterHub adapters (folders or Hub repositories) into a specter2-tfjs model directory (layout: weights/README.md); " +
    "or add adapters to / remove them from one with --into. The Hugging Face cache is $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub.",
  builder: (yargs) =>
    yargs
      .option("base", {
        type: "string",
        describe: `The base model: ${SOURCE}. Reads config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json, pytorch_model.bin or model.safetensors; e.g. allenai/specter2_base`,
      })
      .option("adapter", {
        type: "string",
        array: true,
        default: [] as string[],
        describe: `NAME=SOURCE: an AdapterHub adapter (adapter_config.json + pytorch_adapter.bin or adapter.safetensors), ${SOURCE}; repeatable; NAME defaults to the folder's or repo's name`,
      })
      .option("out", {
        type: "string",
        describe: "Model directory to write; an existing model directory there is replaced only once the new one is complete",
      })
      .option("into", {
        type: "string",
        describe: "An existing model directory to change in place (atomically) instead: add each --adapter (checked against its config), remove each --remove-adapter",
      })
      .option("remove-adapter", {
        type: "string",
        array: true,
        default: [] as string[],
        describe: "With --into: an adapter to remove (repeatable); removing the default adapter makes the first remaining one the default",
      })
      .option("default-adapter", {
        type: "string",
        describe: "The adapter embed, the library and serve use when a call names none (recorded in manifest.json); default: the first --adapter (with --into: unchanged)",
      })
      .option("revision", {
        type: "string",
        default: "main",
        describe: "Branch, tag or commit of each Hub repository that names none with @REV",
      })
      .option("offline", {
        type: "boolean",
        default: false,
        describe: "Never touch the network (also HF_HUB_OFFLINE=1): Hub repositories must be in the Hugging Face cache, else the error names what is missing",
      })
      .option("dtype", { ...yargsOption(OPTIONS.dtype), default: undefined, defaultDescription: "float32; with --into: the directory's" })
      .check((argv) => {
        if (argv.into !== undefined) {
          if (argv.base !== undefined || argv.out !== undefined) throw new Error("--into changes an existing model directory: give it without --base and --out");
        } else {
          if (argv.base === undefined) throw new Error("Missing required argument: base (or --into DIR to change an existing model directory)");
          if (argv.out === undefined) throw new Error("Missing required argument: out");
          if (argv["remove-adapter"].length > 0) throw new Error("--remove-adapter needs --into DIR (the model directory to remove it from)");
        }
        return true;
      }),
  handler: async (argv) => {
    const [
      { convertModel },
      { updateModel },
      { DownloadProgress },
      { hfCacheDir, hubOfflineFromEnv },
      { obtainSources, provenanceOf },
      { hubEndpoint, hubToken },
      { parseSourceRef },
      { repoName },
    ] = await Promise.all([
      import("../../../convert/convert"),
      import("../../../convert/updateModel"),
      import("../../hub/downloadFile"),
      import("../../hub/hfCache"),
      import("../../hub/obtainSources"),
      import("../../hub/hubHttp"),
      import("../../hub/sources"),
      import("../../weights/hub/repos"),
    ]);
    const adapters = argv.adapter.map((arg) => {
      const { name, dir } = parseAdapterArgument(arg);
      const ref = parseSourceRef(dir, argv.revision);
      return { kind: "adapter" as const, ref, name: name ?? (ref.kind === "hub" ? repoName(ref.repo) : undefined) };
    });
    const base = argv.base === undefined ? [] : [{ kind: "base" as const, ref: parseSourceRef(argv.base, argv.revision) }];
    const obtained = await obtainSources([...base, ...adapters], {
      cache: hfCacheDir(),
      offline: argv.offline || hubOfflineFromEnv(),
      hub: () => ({ endpoint: hubEndpoint(), token: hubToken() }),
      fetchInto: "cache",
      progress: new DownloadProgress(),
    });
    const adapterSources = obtained.filter((o) => o.kind === "adapter").map((a) => ({ name: a.name, dir: a.dir, provenance: provenanceOf(a) }));
    if (argv.into !== undefined) {
      const result = await updateModel({ into: argv.into, add: adapterSources, remove: argv["remove-adapter"], defaultAdapter: argv["default-adapter"], dtype: argv.dtype });
      const { describeProvenance } = await import("../../hub/sources");
      const m = result.manifest;
      process.stdout.write(
        [
          `updated ${argv.into} (${m.dtype})`,
          ...result.removed.map((name) => `  removed adapter ${name}`),
          ...result.added.map((name) => `  added adapter ${name}: ${describeProvenance(m.adapters[name].source, m.adapters[name])}`),
          `  adapters: ${Object.keys(m.adapters).join(", ") || "none"}`,
          `  default adapter: ${m.default_adapter ?? "none (the bare base)"}`,
          ...result.notices.map((n) => `  note: ${n}`),
          "",
        ].join("\n"),
      );
      return;
    }
    const manifest = await convertModel({
      base: obtained[0].dir,
      baseProvenance: provenanceOf(obtained[0]),
      adapters: adapterSources,
      out: argv.out!,
      dtype: argv.dtype,
      defaultAdapter: argv["default-adapter"],
    });
    process.stdout.write(await summary(argv.out!, manifest));
  },
};

async function summary(out: string, m: Manifest): Promise<string> {
  const { describeProvenance } = await import("../../hub/sources");
  const adapters = Object.keys(m.adapters);
  const lines = [
    `wrote ${out} (${m.dtype})`,
    `  base: ${describeProvenance(m.base.source, m.base)}`,
    ...adapters.map((name) => `  adapter ${name}: ${describeProvenance(m.adapters[name].source, m.adapters[name])}`),
    `  default adapter: ${m.default_adapter ?? "none (the bare base)"}`,
  ];
  if (m.base.ignored.length > 0) lines.push(`  ignored base tensors (not part of the encoder): ${m.base.ignored.join(", ")}`);
  for (const name of adapters) {
    if (m.adapters[name].skipped.length > 0) lines.push(`  skipped in ${name}: ${m.adapters[name].skipped.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
