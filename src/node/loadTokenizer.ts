// Node-only: a tokenizer from a model directory's vocab.txt and tokenizer_config.json on disk.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tokenizerFromFiles, type BertTokenizer } from "../tokenizer/bertTokenizer";
import { errnoOrText, Specter2Error } from "../errors";

export function loadTokenizer(dir: string): BertTokenizer {
  const vocabPath = join(dir, "vocab.txt");
  let vocabText: string;
  try {
    vocabText = readFileSync(vocabPath, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === "ENOENT" ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT";
    throw new Specter2Error(code, `${vocabPath}: cannot read the tokenizer vocabulary (${errnoOrText(e)})`, { file: vocabPath }, { cause: e });
  }
  const configPath = join(dir, "tokenizer_config.json");
  return tokenizerFromFiles(vocabText, vocabPath, readConfig(configPath), configPath);
}

function readConfig(configPath: string): unknown {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Specter2Error("BAD_CHECKPOINT", (e as Error).message, { file: configPath }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configPath}: malformed JSON: ${(e as Error).message}`, { file: configPath }, { cause: e });
  }
}
