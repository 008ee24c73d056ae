// The example papers (examples/papers.jsonl), as the tests that embed, rank or search them read them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ExamplePaper {
  paper_id: string;
  title: string;
  abstract: string | null;
}

export const EXAMPLE_PAPERS: readonly ExamplePaper[] = readFileSync(join(__dirname, "..", "..", "examples", "papers.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as ExamplePaper);
