// What the browser tests run in the page (test/browser/*.test.ts call these by name through test/helpers/browser.ts
// `call`): each takes and returns plain JSON, vectors as arrays of numbers, errors as their fields, so that every
// comparison happens in Node against the PyTorch references and Node's own results.
import * as specter2 from "../specter2.js";

const { Specter2, BertTokenizer, memory } = specter2;

/** An error as JSON: a Specter2Error's code and fields, any other error's name and message. */
function errorOf(e) {
  const { name, message, code, url, file, field, adapter } = e ?? {};
  return Object.fromEntries(Object.entries({ name, message: message ?? String(e), code, url, file, field, adapter }).filter(([, v]) => v !== undefined));
}

const rows = (vectors) => vectors.map((v) => Array.from(v));

/** Batches posted to each of our Web Workers (those sent our "init"), in the order they were started: how the pool
 *  spread the batches (every job message it sends is `{ id, job }`). */
const workerJobs = new Map();
const postMessage = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (message, ...rest) {
  if (message?.type === "init") workerJobs.set(this, 0);
  else if (workerJobs.has(this) && typeof message?.id === "number" && message.job) workerJobs.set(this, workerJobs.get(this) + 1);
  return postMessage.call(this, message, ...rest);
};

/** The model `keep` loaded, between calls. */
let kept = null;

export const harness = {
  crossOriginIsolated: () => globalThis.crossOriginIsolated,

  /** Loads the model at `url`, runs each batch `{adapter, ids}` with embedBatch (one forward pass each), closes it:
   *  the vectors of every run and tfjs' tensor count before the load, after it, after the runs and after close. */
  async embedBatches(url, options, runs) {
    const tensors = { before: memory().numTensors };
    const started = performance.now();
    const m = await Specter2.load(url, options);
    const loadMs = performance.now() - started;
    tensors.loaded = memory().numTensors;
    const out = [];
    const runMs = [];
    for (const run of runs) {
      const runStarted = performance.now();
      out.push(rows(await m.embedBatch(run.ids, run.adapter)));
      runMs.push(performance.now() - runStarted);
    }
    tensors.afterRuns = memory().numTensors;
    const info = { backend: m.backend, adapters: [...m.adapterNames], defaultAdapter: m.defaultAdapter };
    await m.close();
    tensors.closed = memory().numTensors;
    return { ...info, vectors: out, tensors, loadMs, runMs };
  },

  /** embed() of the inputs, `repeats` times over, on one loaded model: the vectors of the first call, tfjs' tensor
   *  count before the load, after it, after each call, and after close, and the load's last progress report. */
  async embedRepeatedly(url, options, inputs, embedOptions, repeats) {
    const before = memory().numTensors;
    let progress = null;
    let reports = 0;
    const m = await Specter2.load(url, {
      ...options,
      onProgress: (p) => {
        progress = p;
        reports++;
      },
    });
    const loaded = memory().numTensors;
    const afterEach = [];
    let first = null;
    for (let i = 0; i < repeats; i++) {
      const v = await m.embed(inputs, embedOptions);
      first ??= rows(v);
      afterEach.push(memory().numTensors);
    }
    const backend = m.backend;
    const workers = m.workers;
    await m.close();
    return { backend, workers, vectors: first, tensors: { before, loaded, afterEach, closed: memory().numTensors }, progress, reports };
  },

  /** Loads `model` (a URL or a Hub name), embeds the inputs once and closes it: what was loaded (its adapters, default,
   *  stored dtype, converter, base weights' size, where it is), the vectors, the workers, and the load's progress reports (the last, and how
   *  many). */
  async describeLoad(model, options, inputs) {
    let progress = null;
    let reports = 0;
    const m = await Specter2.load(model, {
      ...options,
      onProgress: (p) => {
        progress = p;
        reports++;
      },
    });
    try {
      const { dtype, converter, files } = m.manifest;
      return { adapters: [...m.adapterNames], defaultAdapter: m.defaultAdapter, dtype, converter, weightsBytes: files["model.safetensors"].bytes, location: m.location, workers: m.workers, vectors: rows(await m.embed(inputs)), progress, reports };
    } finally {
      await m.close();
    }
  },

  /** A load that should fail: its error's fields, and tfjs' tensor count before it, at its highest while files were
   *  arriving (onProgress), and after it. */
  async failedLoad(url, options) {
    const before = memory().numTensors;
    let peak = before;
    const onProgress = () => (peak = Math.max(peak, memory().numTensors));
    try {
      const m = await Specter2.load(url, { ...options, onProgress });
      await m.close();
      return { loaded: true, before, peak, after: memory().numTensors };
    } catch (e) {
      return { loaded: false, error: errorOf(e), before, peak, after: memory().numTensors };
    }
  },

  /** A load while the Cache API refuses every put (as a full quota or a private window's does): the warnings it
   *  gave, and the vectors of `inputs`. */
  async loadWithRefusingCache(url, options, inputs) {
    const put = Cache.prototype.put;
    Cache.prototype.put = () => Promise.reject(new DOMException("Quota exceeded.", "QuotaExceededError"));
    const warnings = [];
    try {
      const m = await Specter2.load(url, { ...options, cache: true, onWarning: (w) => warnings.push(w) });
      const vectors = rows(await m.embed(inputs));
      await m.close();
      return { warnings, vectors };
    } finally {
      Cache.prototype.put = put;
    }
  },

  /** Loads a model and keeps it for embedKept and closeKept (the pool test watches its workers meanwhile): what it
   *  runs on, and the load's last progress report. */
  async keep(url, options) {
    let progress = null;
    workerJobs.clear();
    kept = await Specter2.load(url, { ...options, onProgress: (p) => (progress = p) });
    return { backend: kept.backend, workers: kept.workers, runsOn: kept.runsOn, progress };
  },

  /** embed() on the kept model: the vectors, and the batches each Web Worker of the page was sent since `keep`. */
  async embedKept(inputs, embedOptions) {
    const vectors = rows(await kept.embed(inputs, embedOptions));
    return { vectors, jobs: [...workerJobs.values()] };
  },

  /** Closes the kept model; then an embed on it: its error. */
  async closeKept() {
    await kept.close();
    try {
      await kept.embed(["after close"]);
      return { error: null };
    } catch (e) {
      return { error: errorOf(e) };
    } finally {
      kept = null;
    }
  },

  /** Our tokenizer, in the page, from a vocab.txt fetched over HTTP: the ids of each text. */
  async tokenize(vocabUrl, texts, maxLength) {
    const response = await fetch(vocabUrl);
    if (!response.ok) throw new Error(`${vocabUrl}: ${response.status}`);
    const tokenizer = BertTokenizer.fromVocab(await response.text(), undefined, vocabUrl);
    const started = performance.now();
    const ids = texts.map((t) => tokenizer.encode(t, { maxLength }).ids);
    return { ids, ms: performance.now() - started };
  },

  /** benchmarks/browser.ts, on the kept model: each warm-up batch once per worker at once (first shapes, shader
   *  compiles), then the timed batches (one forward pass each, all handed over at once when the model computes
   *  several at a time, as embed does): ms, and the first timed batch's first vector (to compare engines). */
  async warmKept(warmup, adapter) {
    for (const ids of warmup) await Promise.all(Array.from({ length: kept.parallel }, () => kept.embedBatch(ids, adapter)));
  },
  async timeKept(batches, adapter) {
    const started = performance.now();
    let vectors;
    if (kept.parallel > 1) vectors = await Promise.all(batches.map((ids) => kept.embedBatch(ids, adapter)));
    else {
      vectors = [];
      for (const ids of batches) vectors.push(await kept.embedBatch(ids, adapter));
    }
    return { runMs: performance.now() - started, first: Array.from(vectors[0][0]) };
  },

  /** Which entries the page's Cache API holds (their URLs). */
  async cachedUrls() {
    const cache = await caches.open("specter2-tfjs");
    return (await cache.keys()).map((r) => r.url);
  },
};

globalThis.harness = harness;
globalThis.specter2 = specter2;
