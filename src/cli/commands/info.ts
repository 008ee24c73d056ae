// `specter2 info`: what a model directory holds (src/modelInfo.ts), or what a Hub name resolves to and what this
// machine holds of it (and, once converted, its directory's info); imported when the command runs, never the network.
import type { CommandModule } from "yargs";
import { MODEL_HELP } from "../modelArgument";

interface InfoArgs {
  model?: string;
  json: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: "info [model]",
  describe: "Show a model directory (architecture, adapters and their configurations, files, the backend auto would pick), or what a Hub name resolves to and what is cached of it",
  builder: (y) =>
    y
      .positional("model", { type: "string", describe: `${MODEL_HELP}; also as --model` })
      .option("json", { type: "boolean", default: false, describe: "Machine-readable output" })
      .check((a) => {
        if (a.model === undefined || a.model === "") throw new Error("Missing required argument: model (a model directory or a Hub name, e.g. specter2 info allenai/specter2)");
        return true;
      }),
  handler: async (args) => {
    const [{ existsSync }, { parseHubName }, { describeModel, formatInfo, formatHubNameInfo }] = await Promise.all([
      import("node:fs"),
      import("../../weights/hub/repos"),
      import("../../modelInfo"),
    ]);
    const model = args.model!;
    const name = existsSync(model) ? undefined : parseHubName(model);
    if (name === undefined) {
      const info = describeModel(model);
      process.stdout.write(args.json ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
      return;
    }
    const { describeHubName } = await import("../../hub/hubModel");
    const hub = await describeHubName(name);
    // The conversion `--model NAME` would load now (float32), else any of the current commits.
    const current = hub.converted.find((c) => c.current && c.dtype === "float32") ?? hub.converted.find((c) => c.current);
    const converted = current === undefined ? undefined : describeModel(current.dir);
    if (args.json) process.stdout.write(`${JSON.stringify({ hub, model: converted ?? null }, null, 2)}\n`);
    else process.stdout.write(formatHubNameInfo(hub) + (converted === undefined ? "" : `\n${formatInfo(converted)}`));
  },
};
