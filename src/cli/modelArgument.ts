// `--model` as every command takes it: a model directory, or a Hub name `owner/name[@revision]` (src/weights/hub/repos.ts
// says what a name means), converted once into a cache (src/hub/hubModel.ts) before the command works on the directory.
// The Hub client is imported when a command runs, so `--help` loads nothing of it.

export const MODEL_HELP =
  "A model directory (from `specter2 convert` or `download`), or a Hub name owner/name[@revision]: allenai/specter2 is SPECTER2 with its four adapters, " +
  "fetched into the Hugging Face cache and converted once (HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE as for huggingface_hub; an existing path is always a directory)";

/** The `--model` option of a command; `served` says what the command does with the directory, for its help. */
export function modelOption(served = ""): { type: "string"; demandOption: true; describe: string } {
  return { type: "string", demandOption: true, describe: `${MODEL_HELP}${served}` };
}

/** `--model` as a directory: a Hub name's conversion (its files' lines on stderr as they are taken or fetched), or the
 *  argument as given. */
export async function modelDir(model: string): Promise<string> {
  const { modelDirectory } = await import("../hub/hubModel");
  return (await modelDirectory(model, {}, process.stderr)).dir;
}
