// `specter2 tokenize`: JSONL papers/queries in, one {"ids", "tokens"} JSON line out per input.
import { once } from "node:events";
import type { CommandModule } from "yargs";
import { pickOptions } from "../../engine/options";
import type { ArgsOf } from "../options";
import { checkArgs, yargsOptions } from "../options";
import { readJsonl, STDIN_SOURCE } from "../../io/jsonl";
import { toInputRecord } from "../../io/records";
import { loadTokenizer } from "../../node/modelDirectory";

const LENGTH = pickOptions("maxLength");

interface TokenizeArgs extends ArgsOf<typeof LENGTH> {
  model: string;
  input?: string;
}

export interface TokenizeRun {
  model: string;
  maxLength?: number;
  /** A JSONL file, or a stream such as stdin. */
  input: string | NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** Writes as it reads, so a bad line stops the run after every line before it is out. */
export async function runTokenize({ model, maxLength, input, output }: TokenizeRun): Promise<void> {
  const tokenizer = loadTokenizer(model);
  const source = typeof input === "string" ? input : STDIN_SOURCE;
  for await (const { lineNumber, value } of readJsonl(input, source)) {
    const record = toInputRecord(value, { source, lineNumber }, tokenizer.sepToken);
    const { ids, tokens } = tokenizer.encode(record.text, { maxLength });
    if (!output.write(`${JSON.stringify({ ids, tokens })}\n`)) await once(output, "drain");
  }
}

export const tokenizeCommand: CommandModule<object, TokenizeArgs> = {
  command: "tokenize",
  describe: 'Tokenize JSONL papers ({"title", "abstract"}) or queries ({"text"}): one {"ids", "tokens"} line per input',
  builder: (y) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "Model directory holding vocab.txt and tokenizer_config.json" })
      .options(yargsOptions(LENGTH))
      .option("input", { type: "string", describe: "JSONL file to read (default: stdin)" })
      .check((a) => checkArgs(a, LENGTH)),
  handler: async (args) => {
    await runTokenize({ model: args.model, maxLength: args["max-length"], input: args.input ?? process.stdin, output: process.stdout });
  },
};
