// Node-only: a tokenizer from a model directory's vocab.txt and tokenizer_config.json
// (the Hub's files, which our converted model directories also hold).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BertTokenizer, UNCASED_BERT, type BertTokenizerOptions } from "./bertTokenizer";
import { parseTokenizerConfig } from "./tokenizerConfig";
import { errnoOrText, Specter2Error } from "../errors";

/** Without tokenizer_config.json the options are BertTokenizer's defaults (uncased), as in transformers. */
export function loadTokenizer(dir: string): BertTokenizer {
  const vocabPath = join(dir, "vocab.txt");
  let vocabText: string;
  try {
    vocabText = readFileSync(vocabPath, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === "ENOENT" ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT";
    throw new Specter2Error(code, `${vocabPath}: cannot read the tokenizer vocabulary (${errnoOrText(e)})`, { file: vocabPath }, { cause: e });
  }
  return BertTokenizer.fromVocab(vocabText, readOptions(join(dir, "tokenizer_config.json")), vocabPath);
}

function readOptions(configPath: string): BertTokenizerOptions {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return UNCASED_BERT;
    throw new Specter2Error("BAD_CHECKPOINT", (e as Error).message, { file: configPath }, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configPath}: malformed JSON: ${(e as Error).message}`, { file: configPath }, { cause: e });
  }
  return parseTokenizerConfig(json, configPath);
}
