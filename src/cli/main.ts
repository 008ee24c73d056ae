#!/usr/bin/env node
// `specter2 <command>`: thin yargs wiring; every command lives in its own module under commands/.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { COMMANDS } from "./commands";

export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName("specter2")
    .usage("$0 <command> [options]\n\nSPECTER2 scientific-document embeddings on TensorFlow.js.")
    .demandCommand(1, "name a command (see --help)")
    .strict()
    .recommendCommands()
    .help()
    .alias("h", "help")
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error, y) => {
      // One clear line on stderr and a non-zero exit; usage only for usage mistakes.
      if (error) {
        process.stderr.write(`specter2: ${error.message}\n`);
      } else {
        process.stderr.write(`${y.help()}\n\nspecter2: ${message}\n`);
      }
      process.exit(1);
    });
  for (const command of COMMANDS) cli = cli.command(command);
  await cli.parseAsync();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((e: Error) => {
    process.stderr.write(`specter2: ${e.message}\n`);
    process.exit(1);
  });
}
