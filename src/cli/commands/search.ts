// `specter2 search`: ad-hoc search as SPECTER2 does it: the query embedded with the adhoc_query adapter,
// ranked against paper embeddings made with proximity (`specter2 embed`), by L2 distance as SciRepEval does.
import type { CommandModule } from "yargs";
import { modelDir, modelOption } from "../modelArgument";
import { pickOptions } from "../../engine/options";
import type { ScoreName, Hit } from "../../search/search";
import { DEFAULT_SCORE, makeScorer, SCORE_DESCRIPTIONS, SCORE_NAMES } from "../../search/search";
import type { ArgsOf } from "../options";
import { checkArgs, yargsOptions } from "../options";

const HITS = pickOptions("k");
const ENGINE = pickOptions("maxLength", "backend", "threads", "precision");

interface SearchArgs extends ArgsOf<typeof HITS>, ArgsOf<typeof ENGINE> {
  model: string;
  index: string;
  query: string;
  "query-adapter": string;
  "index-adapter": string;
  score: ScoreName;
  papers?: string;
  json: boolean;
}

export const searchCommand: CommandModule<object, SearchArgs> = {
  command: "search",
  describe: "Rank the papers of an embedding index (from `specter2 embed --adapter proximity`) against a text query",
  builder: (y) =>
    y
      .option("model", modelOption(" (the one the index was embedded with)"))
      .option("index", {
        type: "string",
        demandOption: true,
        describe: "Paper embeddings from `specter2 embed`: .jsonl ({paper_id, embedding[, title]} per line) or .npy (ids in <name>.ids.jsonl)",
      })
      .option("query", { type: "string", demandOption: true, describe: "The search query, raw text" })
      .options(yargsOptions(HITS))
      .option("query-adapter", { type: "string", default: "adhoc_query", describe: "Adapter that embeds the query (SPECTER2: adhoc_query for short queries)" })
      .option("index-adapter", {
        type: "string",
        default: "proximity",
        describe: "Adapter the index was embedded with (SPECTER2: proximity); checked to be in the model, the index is not re-embedded",
      })
      .option("score", {
        choices: SCORE_NAMES,
        default: DEFAULT_SCORE,
        describe: `Ranking score: ${SCORE_NAMES.map((s) => `${s} = ${SCORE_DESCRIPTIONS[s]}`).join("; ")}`,
      })
      .option("papers", { type: "string", describe: "The papers JSONL the index was embedded from, to print titles (else titles come from the index lines, if they have them)" })
      .options(yargsOptions(ENGINE))
      .option("json", { type: "boolean", default: false, describe: "One JSON object per hit ({rank, paper_id, score[, title]}) instead of a table" })
      .check((a) => checkArgs(a, { ...HITS, ...ENGINE })),
  handler: async (args) => {
    const started = Date.now();
    const [{ Specter2 }, { readIndex }, { searchIndex }, { openModelDirectory }] = await Promise.all([
      import("../../node/specter2"),
      import("../../search/indexReader"),
      import("../../search/search"),
      import("../../node/modelDirectory"),
    ]);
    const dir = await modelDir(args.model);
    const available = Object.keys(openModelDirectory(dir).manifest.adapters);
    checkAdapters(dir, available, { "--query-adapter": args["query-adapter"], "--index-adapter": args["index-adapter"] });
    // Only the two adapters this search names are loaded; the index one just proves the model matches. One query
    // is one forward pass: on this thread, without starting a worker for it.
    const model = await Specter2.load(dir, {
      backend: args.backend,
      threads: args.threads,
      workers: 0,
      precision: args.precision,
      adapters: [...new Set([args["query-adapter"], args["index-adapter"]])],
      onWarning: (m) => process.stderr.write(`specter2: warning: ${m}\n`),
    });
    let result;
    try {
      const [query] = await model.embed([args.query], { adapter: args["query-adapter"], maxLength: args["max-length"] });
      result = await searchIndex(readIndex(args.index, model.hiddenSize), makeScorer(args.score, query), args.k);
    } finally {
      await model.close();
    }
    const hits = args.papers ? await withTitles(result.hits, args.papers) : result.hits;
    process.stdout.write(args.json ? hits.map((h) => `${JSON.stringify(jsonHit(h))}\n`).join("") : formatTable(hits));
    process.stderr.write(
      `searched ${result.scanned} papers in ${((Date.now() - started) / 1000).toFixed(1)} s: query adapter ${args["query-adapter"]}, ` +
        `index adapter ${args["index-adapter"]}, score ${args.score} (${SCORE_DESCRIPTIONS[args.score]}), backend ${model.backend.name}, precision ${model.precision}\n`,
    );
  },
};

/** Fails before any weights load if the model lacks an adapter the search needs. */
function checkAdapters(dir: string, available: readonly string[], adapters: Record<string, string>): void {
  for (const [option, name] of Object.entries(adapters)) {
    if (!available.includes(name)) {
      throw new Error(`${option} ${name}: the model in ${dir} has no such adapter (it has: ${available.join(", ") || "none"}); convert it with --adapter ${name}=DIR`);
    }
  }
}

async function withTitles(hits: Hit[], papers: string): Promise<Hit[]> {
  const { titlesFor } = await import("../../search/search");
  const titles = await titlesFor(
    papers,
    hits.map((h) => h.id),
  );
  return hits.map((h) => {
    const title = titles.get(JSON.stringify(h.id)) ?? h.title;
    return title === undefined ? h : { ...h, title };
  });
}

/** Same key as the index (`paper_id`), so results join back to the embed input and output. */
function jsonHit({ rank, id, score, title }: Hit): object {
  return { rank, paper_id: id, score, ...(title === undefined ? {} : { title }) };
}

function formatTable(hits: Hit[]): string {
  // A title with line breaks would break the table: whitespace runs become one space.
  const rows = hits.map((h) => [String(h.rank), h.score.toFixed(4), String(h.id), (h.title ?? "").replace(/\s+/g, " ")]);
  const header = ["rank", "score", "paper_id", "title"];
  const widths = header.map((name, c) => Math.max(name.length, ...rows.map((r) => r[c].length)));
  // Numbers right-aligned, text left-aligned; the last column is not padded.
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : c < 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
