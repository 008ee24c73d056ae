// `specter2 tokenize` through its yargs handler (a spawned-binary test belongs with src/cli/main.ts).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import yargs from "yargs";
import { runTokenize, tokenizeCommand } from "../../src/cli/commands/tokenize";
import { SMALL_VOCAB, referenceIdsOf } from "../fixtures/tokenizer/tokenizers";

const MODEL_DIR = join(__dirname, "..", "fixtures/tokenizer");

const INPUT = [{ paper_id: "p1", title: "The protein folding", abstract: "Unaffable 中文." }, { title: "Café", abstract: null }, { text: "the [SEP] query" }];
// The texts the model sees: title + [SEP] + abstract for papers, raw text for queries.
const TEXTS = ["The protein folding[SEP]Unaffable 中文.", "Café[SEP]", "the [SEP] query"];

function tempInput(lines: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "tokenize-")), "in.jsonl");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** Runs the command's handler with stdout captured. */
async function runHandler(args: { model: string; "max-length": number; input?: string }): Promise<{ lines: string[]; error?: Error }> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await (tokenizeCommand.handler as (a: typeof args) => Promise<void>)(args);
    return { lines: written.join("").split("\n").filter(Boolean) };
  } catch (e) {
    return { lines: written.join("").split("\n").filter(Boolean), error: e as Error };
  } finally {
    spy.mockRestore();
  }
}

test.each([512, 6])("one {ids, tokens} line per input, ids as the reference's (max-length %i)", async (maxLength) => {
  const { lines, error } = await runHandler({ model: MODEL_DIR, "max-length": maxLength, input: tempInput(INPUT.map((r) => JSON.stringify(r))) });
  expect(error).toBeUndefined();
  const out = lines.map((l) => JSON.parse(l));
  expect(out.map((o) => Object.keys(o))).toEqual([
    ["ids", "tokens"],
    ["ids", "tokens"],
    ["ids", "tokens"],
  ]);
  expect(out.map((o) => o.ids)).toEqual(await referenceIdsOf(SMALL_VOCAB, TEXTS, maxLength));
  expect(out[1].tokens).toEqual(["[CLS]", "cafe", "[SEP]", "[SEP]"]);
});

test("a malformed line stops the run with an error naming it, after the lines before it", async () => {
  const input = tempInput([JSON.stringify(INPUT[0]), "", '{"title": "x",', JSON.stringify(INPUT[2])]);
  const { lines, error } = await runHandler({ model: MODEL_DIR, "max-length": 512, input });
  expect(lines).toHaveLength(1);
  expect(error?.message).toMatch(new RegExp(`^${input}:3: malformed JSON`));
});

test("a record of the wrong shape is an error naming its line", async () => {
  const input = tempInput([JSON.stringify(INPUT[2]), JSON.stringify({ title: 3 })]);
  const { lines, error } = await runHandler({ model: MODEL_DIR, "max-length": 512, input });
  expect(lines).toHaveLength(1);
  expect(error?.message).toBe(`${input}:2: "title" must be a string, got number 3`);
});

test("reads stdin when no input file is given", async () => {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on("data", (c: Buffer) => chunks.push(c));
  await runTokenize({ model: MODEL_DIR, maxLength: 512, input: Readable.from([INPUT.map((r) => JSON.stringify(r)).join("\n")]), output });
  const out = Buffer.concat(chunks)
    .toString("utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(out.map((o) => o.ids)).toEqual(await referenceIdsOf(SMALL_VOCAB, TEXTS, 512));
});

test("--max-length below 2 is refused by the option check", () => {
  const parser = yargs([])
    .command({ ...tokenizeCommand, handler: () => undefined })
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  expect(() => parser.parse(["tokenize", "--model", MODEL_DIR, "--max-length", "1"])).toThrow("--max-length must be an integer of at least 2, got 1");
});
