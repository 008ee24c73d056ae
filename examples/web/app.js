// The demo page's logic (index.html), a plain ES module on the browser bundle that sits one folder up, as
// `specter2 web` serves dist/web (docs/browser.md). Query parameters:
//   ?model=URL     the model directory (default ../model/, where `specter2 web --model DIR` serves DIR)
//   ?backend=NAME  auto (default), webgpu, webgl, wasm or cpu
//   ?worker=1      compute in a Web Worker
//   ?workers=N     a pool of N Web Workers (or auto: one per core, at most 4, on wasm), each on one wasm thread
//   ?threads=N     wasm threads (in the page, or in the one worker)
//   ?papers=URL    the papers to search, JSON Lines of {paper_id, title, abstract} (default ./papers.jsonl)
// Papers are embedded with the `proximity` adapter, queries with `adhoc_query` (where the model has them), and
// ranked by Euclidean distance, lower is closer, as `specter2 search` ranks by default (src/search/score.ts).
import { Specter2 } from "../specter2.js";

const params = new URLSearchParams(location.search);
const modelUrl = new URL(params.get("model") ?? "../model/", location.href).href;
const backend = params.get("backend") ?? "auto";
const worker = params.get("worker") === "1";
const workers = params.get("workers") === "auto" ? "auto" : params.has("workers") ? Number(params.get("workers")) : undefined;
const threads = params.has("threads") ? Number(params.get("threads")) : undefined;
const papersUrl = new URL(params.get("papers") ?? "./papers.jsonl", location.href).href;

const $ = (id) => document.getElementById(id);
/** The page's state for whoever watches it (the browser test): loading, ready, busy, error. */
const setState = (state) => (document.body.dataset.state = state);

let model = null;
let paperAdapter = null;
let queryAdapter = null;
/** The papers and their vectors, embedded on the first search. */
let index = null;

const ms = (t) => `${Math.round(t)} ms`;
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

function showError(e) {
  const box = $("error");
  const where = e && (e.url ?? e.file ?? e.field);
  box.textContent = `${e && e.code ? `${e.code}: ` : ""}${e && e.message ? e.message : String(e)}${where && !String(e.message).includes(where) ? ` (${where})` : ""}`;
  box.hidden = false;
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function load() {
  $("model-url").textContent = modelUrl;
  setState("loading");
  const started = performance.now();
  const progress = $("progress");
  model = await Specter2.load(modelUrl, {
    backend,
    worker,
    workers,
    threads,
    onProgress: ({ file, loaded, total }) => {
      progress.max = total || 1;
      progress.value = loaded;
      $("load-status").textContent = `downloading ${file.split("/").pop()}: ${kib(loaded)}${total ? ` of ${kib(total)}` : ""}`;
    },
  });
  progress.value = progress.max;
  const names = model.adapterNames;
  paperAdapter = names.includes("proximity") ? "proximity" : model.defaultAdapter;
  queryAdapter = names.includes("adhoc_query") ? "adhoc_query" : paperAdapter;
  $("load-status").textContent =
    `backend ${model.backend.name}${model.workers > 1 ? ` in ${model.workers} Web Workers` : model.workers === 1 ? " in a Web Worker" : ""} · loaded in ${ms(performance.now() - started)} · ` +
    `${model.hiddenSize} dimensions · adapters ${names.join(", ") || "none"}`;
  $("embed-button").disabled = false;
  $("search-button").disabled = false;
  setState("ready");
}

/** Runs one button's work: the error, if any, shown in the page; buttons off meanwhile. */
async function busy(work) {
  clearError();
  setState("busy");
  $("embed-button").disabled = true;
  $("search-button").disabled = true;
  try {
    await work();
    setState("ready");
  } catch (e) {
    showError(e);
  } finally {
    $("embed-button").disabled = false;
    $("search-button").disabled = false;
  }
}

async function embedPaper() {
  const title = $("title").value;
  const abstract = $("abstract").value.trim() === "" ? null : $("abstract").value;
  const started = performance.now();
  const [vector] = await model.embed([{ title, abstract }], { adapter: paperAdapter });
  const took = performance.now() - started;
  let norm = 0;
  for (const x of vector) norm += x * x;
  const first = Array.from(vector.slice(0, 8), (x) => x.toFixed(4)).join(", ");
  $("embed-result").textContent = `${vector.length} dimensions (${paperAdapter ?? "base"}) in ${ms(took)} · norm ${Math.sqrt(norm).toFixed(4)} · [${first}, …]`;
}

async function readPapers() {
  const response = await fetch(papersUrl);
  if (!response.ok) throw new Error(`${papersUrl}: ${response.status} ${response.statusText}`);
  return (await response.text())
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

function l2(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

async function search() {
  const status = $("search-status");
  if (index === null) {
    status.textContent = "embedding the papers…";
    const papers = await readPapers();
    const started = performance.now();
    const vectors = await model.embed(papers, { adapter: paperAdapter });
    index = { papers, vectors, took: performance.now() - started };
  }
  const started = performance.now();
  const [query] = await model.embed([$("query").value], { adapter: queryAdapter });
  const took = performance.now() - started;
  // Lower is closer; equal distances keep the papers' order (as `specter2 search` does).
  const hits = index.vectors.map((v, row) => ({ row, distance: l2(query, v) })).sort((a, b) => a.distance - b.distance || a.row - b.row);
  const body = $("results").querySelector("tbody");
  body.replaceChildren(
    ...hits.map(({ row, distance }, i) => {
      const tr = document.createElement("tr");
      if (i === 0) tr.className = "top";
      const paper = index.papers[row];
      for (const [text, cls] of [
        [String(i + 1), "num"],
        [distance.toFixed(4), "num"],
        [String(paper.paper_id ?? row), ""],
        [paper.title ?? "", ""],
      ]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      tr.dataset.paperId = String(paper.paper_id ?? row);
      return tr;
    }),
  );
  $("results").hidden = false;
  status.textContent =
    `${index.papers.length} papers embedded with ${paperAdapter ?? "base"} in ${ms(index.took)} (once) · ` +
    `query embedded with ${queryAdapter ?? "base"} in ${ms(took)} · ranked by L2 distance, lower is closer`;
}

$("embed-button").addEventListener("click", () => busy(embedPaper));
$("search-button").addEventListener("click", () => busy(search));
$("query").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !$("search-button").disabled) busy(search);
});
load().catch((e) => {
  $("load-status").textContent = "the model did not load";
  showError(e);
});
