// `specter2 web`: the browser demo (dist/web/demo, from examples/web) with the browser bundle and a model directory,
// served on 127.0.0.1 with the headers cross-origin isolation needs (wasm threads), until SIGINT/SIGTERM. The
// server (../webServer) is imported when the command runs, so `--help` loads nothing of it.
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";

interface WebArgs {
  model: string;
  host: string;
  port: number;
}

export const webCommand: CommandModule<object, WebArgs> = {
  command: "web",
  describe: "Serve the browser demo page with the model directory (embed and search in the page, on WebGPU, WebGL or wasm)",
  builder: (y) =>
    y
      .option("model", modelOption(", served at /model/"))
      .option("host", { type: "string", default: "127.0.0.1", describe: "Address to listen on (0.0.0.0 for every interface)" })
      .option("port", { type: "number", default: 8080, describe: "Port to listen on (0: any free port)" })
      .check((a) => {
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${a.port}`);
        return true;
      }),
  handler: async (args) => {
    const { startWebDemo } = await import("../webServer");
    const model = await modelDir(args.model);
    const server = await startWebDemo({ model, host: args.host, port: args.port });
    process.stdout.write(`specter2 web: the demo is at ${server.demoUrl} (model ${model} at ${server.url}/model/, cross-origin isolated); Ctrl-C stops\n`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
    });
    await server.close();
    process.stdout.write(`specter2 web: stopped (${signal})\n`);
  },
};
