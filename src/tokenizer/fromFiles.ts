// A tokenizer from a model's vocab.txt and tokenizer_config.json (the Hub's files, which our converted model
// directories also hold), wherever they were read: without a config, BertTokenizer's uncased defaults, as in
// transformers.
import { BertTokenizer, UNCASED_BERT } from "./bertTokenizer";
import { parseTokenizerConfig } from "./tokenizerConfig";

/** `config`: the parsed tokenizer_config.json, or null where there is none; the names are for errors. */
export function tokenizerFromFiles(vocabText: string, vocabName: string, config: unknown, configName: string): BertTokenizer {
  return BertTokenizer.fromVocab(vocabText, config === null ? UNCASED_BERT : parseTokenizerConfig(config, configName), vocabName);
}
