// Shared by the search and info tests: a model converted from the PyTorch-made fixtures, and running one
// CLI command through yargs with its output captured.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs, { type CommandModule } from "yargs";
import { convertModel } from "../../convert/convert";

const CONVERT_FIXTURES = join(__dirname, "..", "fixtures", "convert");

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `${label}-`));
}

/** The tiny fixture BERT (2 layers, hidden 16, 12-token vocabulary, 16 positions) with two different
 *  adapters standing in for SPECTER2's: the Houlsby preset as "proximity", ln_shared as "adhoc_query". */
export async function convertFixtureModel(out: string): Promise<string> {
  await convertModel({
    base: join(CONVERT_FIXTURES, "bin_prefixed", "base"),
    adapters: [
      { name: "proximity", dir: join(CONVERT_FIXTURES, "adapters", "houlsby_preset") },
      { name: "adhoc_query", dir: join(CONVERT_FIXTURES, "adapters", "ln_shared") },
    ],
    out,
  });
  return out;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Parses `args` with `command` alone; resolves to what it printed, rejects with yargs' or the handler's error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runCommand(command: CommandModule<any, any>, args: string[]): Promise<CommandOutput> {
  const out: CommandOutput = { stdout: "", stderr: "" };
  const spies = (["stdout", "stderr"] as const).map((name) =>
    jest.spyOn(process[name], "write").mockImplementation((chunk: string | Uint8Array) => {
      out[name] += chunk.toString();
      return true;
    }),
  );
  try {
    await yargs(args)
      .command(command)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return out;
}
