// `specter2 info`: what a model directory holds (src/modelInfo.ts, imported when the command runs).
import type { CommandModule } from "yargs";

interface InfoArgs {
  model: string;
  json: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: "info",
  describe: "Show a model directory: architecture, adapters and their configurations, files, and the backend auto would pick",
  builder: (y) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "Converted model directory (from `specter2 convert`)" })
      .option("json", { type: "boolean", default: false, describe: "Machine-readable output" }),
  handler: async (args) => {
    const { describeModel, formatInfo } = await import("../../modelInfo");
    const info = describeModel(args.model);
    process.stdout.write(args.json ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
  },
};
