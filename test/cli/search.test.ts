// `specter2 search` end to end: a fixture model converted from PyTorch files, an index written by
// `specter2 embed`, and rankings whose right answers hold by construction, not by our own numbers.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embedCommand } from "../../src/cli/commands/embed";
import { searchCommand } from "../../src/cli/commands/search";
import { convertFixtureModel, runCommand, tempDir } from "../helpers/search";

// Words of the fixture's 12-token vocabulary, so that every paper tokenizes to different ids.
const PAPERS = [
  { paper_id: "p1", title: "graph neural network", abstract: "the model" },
  { paper_id: "p2", title: "the paper", abstract: "neural models" },
  { paper_id: "p3", title: "network models", abstract: "the graph paper" },
  { paper_id: "p4", title: "model", abstract: null },
  { paper_id: "p5", title: "the neural graph", abstract: "network paper model" },
];
/** The fixture model has 16 positions. */
const MAX_LENGTH = ["--max-length", "16"];

interface JsonHit {
  rank: number;
  paper_id: string;
  score: number;
  title?: string;
}

let dir: string;
let model: string;
let papers: string;
let indexJsonl: string;
let indexNpy: string;

beforeAll(async () => {
  dir = tempDir("search-cli");
  model = await convertFixtureModel(join(dir, "model"));
  papers = join(dir, "papers.jsonl");
  writeFileSync(papers, PAPERS.map((p) => JSON.stringify(p)).join("\n") + "\n");
  indexJsonl = join(dir, "index.jsonl");
  indexNpy = join(dir, "index.npy");
  for (const output of [indexJsonl, indexNpy]) {
    await runCommand(embedCommand, ["embed", "--model", model, "--adapter", "proximity", "--input", papers, "--output", output, "--batch-size", "2", ...MAX_LENGTH]);
  }
});

async function search(...args: string[]): Promise<{ hits: JsonHit[]; stderr: string }> {
  const { stdout, stderr } = await runCommand(searchCommand, ["search", "--model", model, ...MAX_LENGTH, "--json", ...args]);
  return {
    hits: stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as JsonHit),
    stderr,
  };
}

function embeddingsOf(jsonlFile: string): Map<string, number[]> {
  const lines = readFileSync(jsonlFile, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { paper_id: string; embedding: number[] });
  return new Map(lines.map((l) => [l.paper_id, l.embedding]));
}

describe("specter2 search", () => {
  it.each([
    ["JSONL", () => indexJsonl],
    ["npy", () => indexNpy],
  ])("a paper's own text, embedded with the index's adapter, finds that paper first at distance ~0 (%s index)", async (_, index) => {
    const p3 = PAPERS[2];
    const { hits } = await search("--index", index(), "--query-adapter", "proximity", "--query", `${p3.title}[SEP]${p3.abstract}`, "--k", "5");
    expect(hits.map((h) => h.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(hits[0].paper_id).toBe("p3");
    // float32 rounding of one forward pass in another batch; the next paper is a different input.
    expect(hits[0].score).toBeLessThan(1e-5);
    expect(hits[1].score).toBeGreaterThan(1e-3);
    expect(new Set(hits.map((h) => h.paper_id))).toEqual(new Set(PAPERS.map((p) => p.paper_id)));
  });

  it("embeds the query with adhoc_query by default and ranks by Euclidean distance to every index row", async () => {
    const query = "graph neural network";
    // The query's adhoc_query embedding through `specter2 embed`, and the L2 distances worked out here.
    const queries = join(dir, "query.jsonl");
    writeFileSync(queries, `${JSON.stringify({ id: "q", text: query })}\n`);
    const queryOut = join(dir, "query-embedding.jsonl");
    await runCommand(embedCommand, ["embed", "--model", model, "--adapter", "adhoc_query", "--input", queries, "--output", queryOut, ...MAX_LENGTH]);
    const q = embeddingsOf(queryOut).get("q")!;
    const expected = [...embeddingsOf(indexJsonl)]
      .map(([id, e]) => ({ id, distance: Math.hypot(...e.map((x, i) => x - q[i])) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, 3);

    const { hits, stderr } = await search("--index", indexJsonl, "--query", query, "--k", "3");
    expect(hits.map((h) => h.paper_id)).toEqual(expected.map((e) => e.id));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i].distance, 5));
    expect(stderr).toContain("searched 5 papers");
    expect(stderr).toContain("query adapter adhoc_query, index adapter proximity, score l2");

    // The other adapter gives another query vector, hence other distances: the adapter really switched.
    const { hits: proximityHits } = await search("--index", indexJsonl, "--query", query, "--k", "3", "--query-adapter", "proximity");
    expect(proximityHits.map((h) => h.score)).not.toEqual(hits.map((h) => h.score));
  });

  it("ranks by cosine similarity, highest first, when asked", async () => {
    const p1 = PAPERS[0];
    const { hits } = await search("--index", indexNpy, "--query-adapter", "proximity", "--query", `${p1.title}[SEP]${p1.abstract}`, "--score", "cosine");
    expect(hits[0].paper_id).toBe("p1");
    expect(hits[0].score).toBeCloseTo(1, 5);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
  });

  it("prints a table with titles from --papers", async () => {
    const p4 = PAPERS[3];
    const { stdout } = await runCommand(searchCommand, [
      "search",
      "--model",
      model,
      ...MAX_LENGTH,
      "--index",
      indexNpy,
      "--papers",
      papers,
      "--query-adapter",
      "proximity",
      "--query",
      `${p4.title}[SEP]`,
      "--k",
      "2",
    ]);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^rank\s+score\s+paper_id\s+title$/);
    expect(lines[1]).toMatch(/^\s+1\s+0\.0000\s+p4\s+model$/);
    expect(lines[2]).toMatch(/^\s+2\s+\d+\.\d{4}\s+p\d\s+\S.*$/);
  });

  it("refuses a model without the index's adapter, before loading anything", async () => {
    await expect(search("--index", indexJsonl, "--query", "x", "--index-adapter", "specter2")).rejects.toThrow(
      `--index-adapter specter2: the model in ${model} has no such adapter (it has: proximity, adhoc_query)`,
    );
  });

  it("refuses an index made by a model of another size, naming the line", async () => {
    const other = join(dir, "other.jsonl");
    writeFileSync(other, `${JSON.stringify({ paper_id: "x", embedding: [1, 2, 3] })}\n`);
    await expect(search("--index", other, "--query", "x")).rejects.toThrow(`${other}:1: embedding has 3 values, the model's hidden size is 16`);
  });

  it("refuses --k 0", async () => {
    await expect(search("--index", indexJsonl, "--query", "x", "--k", "0")).rejects.toThrow("--k must be a positive integer, got 0");
  });
});
