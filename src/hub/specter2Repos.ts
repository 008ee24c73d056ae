// The Hub repos that make up SPECTER2 and the files we need from each (DESIGN.md §2).
import type { HubFileRequest } from "./downloadHubFile";
import { Specter2Error } from "../errors";

export const BASE_REPO = "allenai/specter2_base";

/** tokenizer.json is only a fast-tokenizer copy of vocab.txt + tokenizer_config.json: kept if the repo has it. */
const BASE_FILES: [file: string, optional: boolean][] = [
  ["config.json", false],
  ["vocab.txt", false],
  ["tokenizer_config.json", false],
  ["special_tokens_map.json", false],
  ["pytorch_model.bin", false],
  ["tokenizer.json", true],
];

/** Adapter name (what `embed --adapter` takes) → its repo. */
export const ADAPTER_REPOS: Readonly<Record<string, string>> = {
  proximity: "allenai/specter2",
  adhoc_query: "allenai/specter2_adhoc_query",
  classification: "allenai/specter2_classification",
  regression: "allenai/specter2_regression",
};

export const ADAPTER_NAMES = Object.keys(ADAPTER_REPOS);

/** The adapter repos also hold prediction heads (head_config.json, pytorch_model_head.bin): not needed. */
const ADAPTER_FILES = ["adapter_config.json", "pytorch_adapter.bin"];

export function baseFiles(revision: string): HubFileRequest[] {
  return BASE_FILES.map(([file, optional]) => ({ repo: BASE_REPO, revision, file, optional }));
}

export function adapterRepo(name: string): string {
  // hasOwn: "constructor" and friends are not adapters.
  if (!Object.hasOwn(ADAPTER_REPOS, name)) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `unknown adapter "${name}": SPECTER2's adapters are ${ADAPTER_NAMES.join(", ")}`, { adapter: name });
  }
  return ADAPTER_REPOS[name];
}

export function adapterFiles(name: string, revision: string): HubFileRequest[] {
  const repo = adapterRepo(name);
  return ADAPTER_FILES.map((file) => ({ repo, revision, file, optional: false }));
}
