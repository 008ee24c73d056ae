#!/usr/bin/env node
// `specter2 <command>`: thin yargs wiring; every command lives in its own module under commands/.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { COMMANDS } from "./commands";
import { exitCodeOf, failureExitCode } from "./exitCodes";

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
      // One clear line on stderr and a non-zero exit (src/cli/exitCodes.ts: 2 for a usage mistake, else by the
      // error's code); the usage text only for yargs' own usage mistakes (those come without an error).
      if (error instanceof Error || message === null) {
        process.stderr.write(`specter2: ${error instanceof Error ? error.message : String(error)}\n`);
      } else {
        process.stderr.write(`${helpText(y)}\n\nspecter2: ${message}\n`);
      }
      process.exit(failureExitCode(message, error));
    });
  for (const command of COMMANDS) cli = cli.command(command);
  await cli.parseAsync();
}

/** The usage text. yargs passes fail() its usage object, whose help() returns the text; @types/yargs
 *  types that argument as the Argv instance, whose help() returns the instance. */
function helpText(y: unknown): string {
  return (y as { help(): string }).help();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((e: Error) => {
    process.stderr.write(`specter2: ${e.message}\n`);
    process.exit(exitCodeOf(e));
  });
}
