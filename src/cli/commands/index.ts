// The CLI's commands, in the order `--help` lists them.
import type { CommandModule } from "yargs";
import { convertCommand } from "./convert";
import { downloadCommand } from "./download";
import { embedCommand } from "./embed";
import { infoCommand } from "./info";
import { mergeCommand } from "./merge";
import { parityCommand } from "./parity";
import { searchCommand } from "./search";
import { serveCommand } from "./serve";
import { slurmCommand } from "./slurm";
import { tokenizeCommand } from "./tokenize";
import { webCommand } from "./web";

// Each command types its own arguments; yargs' list of them cannot express that.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: CommandModule<object, any>[] = [
  embedCommand,
  mergeCommand,
  slurmCommand,
  searchCommand,
  downloadCommand,
  convertCommand,
  infoCommand,
  tokenizeCommand,
  parityCommand,
  serveCommand,
  webCommand,
];
