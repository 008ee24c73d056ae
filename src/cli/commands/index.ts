// The CLI's commands, in the order `--help` lists them.
import type { CommandModule } from "yargs";
import { parityCommand } from "./parity";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: CommandModule<any, any>[] = [parityCommand];
