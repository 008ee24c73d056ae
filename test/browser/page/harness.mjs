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

  /** Our tokenizer, in the page, from a vocab.txt fetched over HTTP: the ids of each text. */
  async tokenize(vocabUrl, texts, maxLength) {
    const response = await fetch(vocabUrl);
    if (!response.ok) throw new Error(`${vocabUrl}: ${response.status}`);
    const tokenizer = BertTokenizer.fromVocab(await response.text(), undefined, vocabUrl);
    const started = performance.now();
    const ids = texts.map((t) => tokenizer.encode(t, { maxLength }).ids);
    return { ids, ms: performance.now() - started };
  },

  /** Which entries the page's Cache API holds (their URLs). */
  async cachedUrls() {
    const cache = await caches.open("specter2-tfjs");
    return (await cache.keys()).map((r) => r.url);
  },
};

globalThis.harness = harness;
globalThis.specter2 = specter2;
