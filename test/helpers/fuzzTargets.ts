// The fuzz targets, one property per parser. test/fuzz/parsers.test.ts runs each with a small budget and a fixed seed;
// test/reliability/fuzz.test.ts runs the same properties for minutes with a fresh seed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { parseAdapterConfig } from "../../src/weights/hub/adapterConfig";
import { parseTorchCheckpoint, readStateDict } from "../../src/weights/torch/checkpoint";
import type { PickleCallable } from "../../src/weights/torch/pickle";
import { describe as describePickle, PickleDict, PickleTuple, unpickle } from "../../src/weights/torch/pickle";
import { StorageRecord, TensorView } from "../../src/weights/torch/tensorView";
import { StorageType, torchGlobals } from "../../src/weights/torch/torchGlobals";
import { readZip } from "../../src/weights/torch/zip";
import type { JsonlEntry } from "../../src/io/jsonl";
import { readJsonlEntries } from "../../src/io/jsonl";
import { toInputRecord } from "../../src/io/records";
import { ACTIVATIONS } from "../../src/model/config";
import { BertTokenizer, UNCASED_BERT } from "../../src/tokenizer/bertTokenizer";
import type { RawTensor } from "../../src/weights/dtypes";
import { DTYPE_SIZES, numElements } from "../../src/weights/dtypes";
import { parseSafetensors } from "../../src/weights/safetensors";
import type { Outcome } from "./fuzz";
import { mutatedArb, runCase, runCaseAsync, seedFiles } from "./fuzz";

export interface FuzzTarget {
  name: string;
  /** Cases per run in the test suite: enough to reach every error path of the seeds, within the CI budget. */
  ciRuns: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each target has its own argument tuple
  property: () => fc.IRawProperty<any>;
}

const ROOT = join(__dirname, "..", "..");
const FIXTURES = join(ROOT, "test", "fixtures");

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

// ---- safetensors ------------------------------------------------------------------------------------------

const SAFETENSORS_SEEDS = [...seedFiles(FIXTURES, ".safetensors", 200_000), ...seedFiles(join(ROOT, "weights", "specter2-tiny"), ".safetensors")];

/** A parsed file must describe only in-bounds, non-overlapping, correctly sized views into its input. */
function checkSafetensorsResult(bytes: Uint8Array, outcome: Outcome): void {
  if (!outcome.ok) return;
  const { tensors, metadata } = outcome.value as ReturnType<typeof parseSafetensors>;
  for (const v of Object.values(metadata)) check(typeof v === "string", "metadata value is not a string");
  const spans: [number, number][] = [];
  for (const [name, t] of tensors) {
    check(t.data.buffer === bytes.buffer, `${name}: data is not a view into the file`);
    check(t.data.byteLength === numElements(t.shape) * DTYPE_SIZES[t.dtype], `${name}: data size does not match shape and dtype`);
    check(t.data.byteOffset - bytes.byteOffset + t.data.byteLength <= bytes.byteLength, `${name}: view runs past the file`);
    spans.push([t.data.byteOffset, t.data.byteOffset + t.data.byteLength]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) check(spans[i][0] >= spans[i - 1][1], "tensors overlap");
}

const dimArb = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom<unknown>(-1, 1.5, 2 ** 31, 2 ** 53, 1e300, "3", null));
const tensorEntryArb = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom(...Object.keys(DTYPE_SIZES)), fc.constantFrom("f32", "F8_E4M3", "", "__proto__", "toString"), fc.string()),
    shape: fc.oneof(fc.array(dimArb, { maxLength: 4 }), fc.jsonValue()),
    data_offsets: fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 600 })),
      fc.tuple(fc.constant(0), fc.constantFrom(2 ** 32, 100e9, 2 ** 53, -4)),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);
const headerKeyArb = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__metadata__", "__proto__", "constructor", "w"));

/** Header text written by hand so keys like "__proto__" arrive as a real file would carry them. */
const safetensorsFileArb = fc
  .record({
    entries: fc.array(fc.tuple(headerKeyArb, fc.oneof(tensorEntryArb, fc.jsonValue())), { maxLength: 6 }),
    data: fc.uint8Array({ maxLength: 600 }),
    claimedLength: fc.oneof(fc.constant(undefined), fc.constantFrom(0n, 1n, 7n, 100_000_000_000n, (1n << 64n) - 1n), fc.bigInt({ min: 0n, max: 2000n })),
  })
  .map(({ entries, data, claimedLength }) => {
    const header = Buffer.from(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);
    const out = new Uint8Array(8 + header.length + data.length);
    new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(header.length), true);
    out.set(header, 8);
    out.set(data, 8 + header.length);
    return out;
  });

function safetensorsProperty(arb: fc.Arbitrary<Uint8Array>) {
  return () =>
    fc.property(arb, (bytes) => {
      checkSafetensorsResult(
        bytes,
        runCase("fuzz.safetensors", bytes.length, () => parseSafetensors(bytes, "fuzz.safetensors")),
      );
    });
}

// ---- torch zip, pickle, checkpoint --------------------------------------------------------------------------

const TORCH_SEEDS = [...seedFiles(join(FIXTURES, "torch-bin"), ".bin"), ...seedFiles(join(FIXTURES, "convert"), ".bin")];

/** Archives that unzip cleanly, for fuzzing what lies inside them (mutated bytes there would fail the CRC first). */
const VALID_ARCHIVES = TORCH_SEEDS.flatMap((bytes) => {
  try {
    const entries = readZip(bytes, "seed");
    return [...entries.keys()].some((k) => k.endsWith("/data.pkl")) ? [entries] : [];
  } catch {
    return [];
  }
});

function checkTensors(outcome: Outcome): void {
  if (!outcome.ok) return;
  for (const [name, t] of outcome.value as Map<string, RawTensor>) {
    check(t.data.byteLength === numElements(t.shape) * DTYPE_SIZES[t.dtype], `${name}: ${t.data.byteLength} bytes for [${t.shape}] ${t.dtype}`);
  }
}

const zipProperty = () =>
  fc.property(mutatedArb(TORCH_SEEDS), (bytes) => {
    const outcome = runCase("fuzz.bin", bytes.length, () => readZip(bytes, "fuzz.bin"));
    if (outcome.ok) {
      for (const [name, contents] of outcome.value as Map<string, Uint8Array>) {
        check(contents.buffer === bytes.buffer && contents.byteOffset + contents.byteLength <= bytes.byteOffset + bytes.byteLength, `${name}: not a view inside the archive`);
      }
    }
  });

const checkpointProperty = () =>
  fc.property(mutatedArb(TORCH_SEEDS), (bytes) => {
    checkTensors(runCase("fuzz.bin", bytes.length, () => parseTorchCheckpoint(bytes, "fuzz.bin")));
  });

/** The pickle and the storages of a valid archive mutated: this reaches the unpickler and the view checks. */
const stateDictArb = fc.tuple(fc.constantFrom(...VALID_ARCHIVES), fc.nat(), fc.boolean()).chain(([entries, pick, mutatePickle]) => {
  const names = [...entries.keys()].filter((k) => (mutatePickle ? k.endsWith("/data.pkl") : k.includes("/data/")));
  const target = names.length > 0 ? names[pick % names.length] : [...entries.keys()][0];
  return mutatedArb([entries.get(target)!]).map((mutated) => new Map([...entries, [target, mutated]]));
});

const stateDictProperty = () =>
  fc.property(stateDictArb, (entries) => {
    const size = [...entries.values()].reduce((s, b) => s + b.length, 0);
    checkTensors(runCase("fuzz.bin", size, () => readStateDict(entries, "fuzz.bin")));
  });

// ---- the pickle allowlist ------------------------------------------------------------------------------------

const ALLOWED = [...torchGlobals().keys()];
const DENIED = [
  "os.system",
  "posix.system",
  "builtins.eval",
  "builtins.exec",
  "builtins.getattr",
  "__builtin__.eval",
  "subprocess.Popen",
  "torch.storage._load_from_bytes",
  "torch.load",
  "collections.defaultdict",
  "builtins.globals",
  "numpy.core.multiarray._reconstruct",
];

function splitName(qualified: string): [string, string] {
  const dot = qualified.lastIndexOf(".");
  return [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

function unicodeOp(text: string): number[] {
  const utf8 = Buffer.from(text, "utf8");
  return [0x58, utf8.length & 0xff, (utf8.length >> 8) & 0xff, 0, 0, ...utf8];
}

const globalNameArb = fc.oneof(
  fc.constantFrom(...ALLOWED),
  fc.constantFrom(...DENIED),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `m.${s}`),
);
const SIMPLE_OPS = [0x28, 0x29, 0x5d, 0x7d, 0x74, 0x85, 0x86, 0x87, 0x75, 0x65, 0x61, 0x73, 0x64, 0x6c, 0x52, 0x81, 0x62, 0x51, 0x32, 0x30, 0x31, 0x4e, 0x88, 0x89, 0x94];

/** Opcode streams from the pickle grammar: containers, memo, calls, and GLOBALs both allowed and not. */
const pickleOpArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SIMPLE_OPS).map((op) => [op]) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((i) => [0x4b, i]) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(0x71, 0x68), fc.integer({ min: 0, max: 4 })).map(([op, i]) => [op, i]) },
  { weight: 2, arbitrary: fc.constantFrom("storage", "cpu", "0", "1", "a").map(unicodeOp) },
  { weight: 3, arbitrary: globalNameArb.map((q) => [0x63, ...Buffer.from(`${splitName(q).join("\n")}\n`, "latin1")]) },
  { weight: 2, arbitrary: globalNameArb.map((q) => [...unicodeOp(splitName(q)[0]), ...unicodeOp(splitName(q)[1]), 0x93]) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => [b]) },
);
const grammarPickleArb = fc.array(pickleOpArb, { maxLength: 60 }).map((ops) => Uint8Array.from([0x80, 2, ...ops.flat(), 0x2e]));

/** The real allowlist, with every lookup and every call recorded. */
function recordingGlobals(): { globals: ReadonlyMap<string, unknown>; looked: string[]; called: string[] } {
  const looked: string[] = [];
  const called: string[] = [];
  class RecordingMap extends Map<string, unknown> {
    override get(key: string): unknown {
      looked.push(key);
      return super.get(key);
    }
  }
  const globals = new RecordingMap();
  for (const [name, value] of torchGlobals()) {
    const callable = value as PickleCallable;
    globals.set(
      name,
      typeof callable.call === "function"
        ? {
            qualifiedName: callable.qualifiedName,
            call: (args: readonly unknown[]) => {
              called.push(name);
              return callable.call(args);
            },
          }
        : value,
    );
  }
  return { globals, looked, called };
}

const KNOWN_VALUE_TYPES = [Array, PickleTuple, PickleDict, Uint8Array, TensorView, StorageRecord, StorageType];

/** Everything the unpickler returns is data of known types or an allowlisted callable: no foreign object escapes. */
function checkValueGraph(root: unknown, allowedCallables: ReadonlySet<unknown>): void {
  const seen = new Set<unknown>();
  const queue = [root];
  while (queue.length > 0 && seen.size < 100_000) {
    const value = queue.pop();
    if (value === null || typeof value !== "object" || seen.has(value)) {
      check(typeof value !== "function", "a function escaped the unpickler");
      continue;
    }
    seen.add(value);
    if (allowedCallables.has(value)) continue;
    check(
      KNOWN_VALUE_TYPES.some((type) => value instanceof type),
      `unexpected object ${describePickle(value)} in the result`,
    );
    if (Array.isArray(value)) queue.push(...value);
    if (value instanceof PickleTuple) queue.push(...value.items);
    if (value instanceof PickleDict) for (const [k, v] of [...value.items, ...value.attributes]) queue.push(k, v);
    if (value instanceof TensorView) queue.push(value.storage, value.offset, value.size, value.stride);
  }
}

const pickleAllowlistProperty = () =>
  fc.property(fc.oneof(grammarPickleArb, mutatedArb(VALID_ARCHIVES.map((e) => [...e].find(([k]) => k.endsWith("/data.pkl"))![1]))), (bytes) => {
    const { globals, looked, called } = recordingGlobals();
    const persistentLoad = () => new StorageRecord("archive/data/0", "F32", 4, new Uint8Array(16));
    const outcome = runCase("fuzz.pkl", bytes.length, () => unpickle(bytes, "fuzz.pkl", { globals, persistentLoad }));
    for (const name of looked) check(ALLOWED.includes(name), `looked up ${name}, which is not allowlisted`);
    for (const name of called) check(ALLOWED.includes(name), `called ${name}, which is not allowlisted`);
    if (outcome.ok) checkValueGraph(outcome.value, new Set(globals.values()));
    else {
      const refused = /refusing to load global (\S+):/.exec(outcome.error.message);
      if (refused) check(!ALLOWED.includes(refused[1]), `refused the allowlisted ${refused[1]}`);
    }
  });

/** A forbidden GLOBAL or STACK_GLOBAL at the start is refused by name, whatever follows it. */
const pickleDeniedFirstProperty = () =>
  fc.property(fc.constantFrom(...DENIED), fc.boolean(), fc.uint8Array({ maxLength: 64 }), (name, stackGlobal, tail) => {
    const [module, attr] = splitName(name);
    const head = stackGlobal ? [...unicodeOp(module), ...unicodeOp(attr), 0x93] : [0x63, ...Buffer.from(`${module}\n${attr}\n`, "latin1")];
    const bytes = Uint8Array.from([0x80, 2, ...head, ...tail]);
    const { globals, called } = recordingGlobals();
    const outcome = runCase("fuzz.pkl", bytes.length, () => unpickle(bytes, "fuzz.pkl", { globals }));
    check(!outcome.ok && outcome.error.message.includes(`refusing to load global ${name}`), `${name} was not refused`);
    check(called.length === 0, "something was called");
  });

// ---- JSONL and input records ---------------------------------------------------------------------------------

const NO_LINE_BREAKS = (s: string) => !/[\n\r]/.test(s);
const jsonlLineArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          title: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
          abstract: fc.oneof(fc.string(), fc.constant(null), fc.boolean(), fc.object()),
          paper_id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.object()),
          text: fc.string(),
          corpus_id: fc.oneof(fc.integer(), fc.constant(null)),
        },
        { requiredKeys: [] },
      )
      .map((r) => JSON.stringify(r)),
  },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 80 }).filter(NO_LINE_BREAKS) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean()).map(([depth, closed]) => "[".repeat(depth) + (closed ? "]".repeat(depth) : "")) },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => JSON.stringify({ text: "word ".repeat(n / 5) })) },
  { weight: 1, arbitrary: fc.constantFrom("", "   ", "\t", "\uFEFF{}", '{"title": "t"}\u0000', "null", "[]", '{"__proto__": {"text": "x"}}') },
);

/** Deep equality of parsed JSON without recursion (lines nest 20 000 deep; JSON.stringify would overflow the stack). */
function sameJson(a: unknown, b: unknown): boolean {
  const pairs: [unknown, unknown][] = [[a, b]];
  while (pairs.length > 0) {
    const [x, y] = pairs.pop()!;
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object") {
      if (!Object.is(x, y)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) {
      if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
      pairs.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

/** Lines without line breaks, so each generated line is one line of the file and expectations are exact. */
const jsonlProperty = () =>
  fc.asyncProperty(fc.array(jsonlLineArb, { maxLength: 12 }), fc.boolean(), async (lines, crlf) => {
    const bytes = Buffer.from(lines.join(crlf ? "\r\n" : "\n"), "utf8");
    const decoded = bytes.toString("utf8").split(crlf ? "\r\n" : "\n");
    const outcome = await runCaseAsync("fuzz.jsonl", bytes.length, async () => {
      const entries: JsonlEntry[] = [];
      for await (const entry of readJsonlEntries(Readable.from([bytes]), "fuzz.jsonl")) entries.push(entry);
      return entries;
    });
    check(outcome.ok, `the reader failed: ${outcome.ok || outcome.error.message}`);
    const entries = (outcome as { value: JsonlEntry[] }).value;
    const expected = decoded.map((line, i) => ({ line: i === 0 ? line.replace(/^\uFEFF/, "") : line, lineNumber: i + 1 })).filter(({ line }) => !/^[ \t\r]*$/.test(line));
    check(entries.length === expected.length, `${entries.length} entries for ${expected.length} non-blank lines`);
    entries.forEach((entry, i) => {
      const { line, lineNumber } = expected[i];
      check(entry.lineNumber === lineNumber, `entry ${i} says line ${entry.lineNumber}, expected ${lineNumber}`);
      let parsed: { value: unknown } | undefined;
      try {
        parsed = { value: JSON.parse(line) };
      } catch {
        /* a malformed line must be reported as one */
      }
      if ("error" in entry) {
        check(parsed === undefined, `line ${lineNumber} parses but was reported malformed`);
        check(entry.error.message.startsWith(`fuzz.jsonl:${lineNumber}: `), `error does not name the line: ${entry.error.message}`);
        return;
      }
      check(parsed !== undefined && sameJson(parsed.value, entry.value), `line ${lineNumber} read back differently`);
      const source = `fuzz.jsonl:${lineNumber}`;
      const record = runCase(source, line.length, () => toInputRecord(entry.value, { source: "fuzz.jsonl", lineNumber }));
      if (record.ok) {
        const r = record.value as ReturnType<typeof toInputRecord>;
        check(typeof r.text === "string" && (typeof r.id === "string" || Number.isFinite(r.id)), `bad record from line ${lineNumber}`);
      }
    });
  });

// ---- tokenizer -----------------------------------------------------------------------------------------------

const VOCAB_TEXT = readFileSync(join(FIXTURES, "tokenizer", "vocab.txt"), "utf8");
const TOKENIZER = BertTokenizer.fromVocab(VOCAB_TEXT, UNCASED_BERT, "fuzz_vocab.txt");

const textArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc
    .array(fc.constantFrom("[SEP]", "[CLS]", "[UNK]", "[PAD]", "##", "the", "\u0301", "\u200b", "\u0000", "\ufffd", "中文", "\ud800", "\udc00", " ", "\t", "é", "İ", "ß", "ﬀ", "(", "a"), {
      maxLength: 200,
    })
    .map((a) => a.join("")),
  fc.tuple(fc.string({ unit: "binary", minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 20_000 })).map(([s, n]) => s.repeat(n)),
);

function checkEncoding(tokenizer: BertTokenizer, text: string, maxLength: number, source: string): void {
  const outcome = runCase(source, 2 * text.length, () => tokenizer.encode(text, { maxLength }));
  check(outcome.ok, `encode threw: ${outcome.ok || outcome.error.message}`);
  const { ids, tokens } = (outcome as { value: ReturnType<BertTokenizer["encode"]> }).value;
  check(ids.length >= 2 && ids.length <= maxLength, `${ids.length} ids for maxLength ${maxLength}`);
  check(ids[0] === tokenizer.specialIds.cls && ids[ids.length - 1] === tokenizer.specialIds.sep, "not [CLS] … [SEP]");
  check(
    ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize),
    "id outside the vocabulary",
  );
  check(
    tokens.every((t) => typeof t === "string"),
    "token without text",
  );
}

const tokenizerProperty = () =>
  fc.property(textArb, fc.integer({ min: 2, max: 600 }), (text, maxLength) => {
    checkEncoding(TOKENIZER, text, maxLength, "fuzz_vocab.txt");
  });

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
/** Mostly every special token (so encoding is reached), sometimes a few missing, among random lines in random order. */
const vocabLinesArb = fc
  .tuple(
    fc.oneof({ weight: 3, arbitrary: fc.constant(SPECIALS) }, { weight: 1, arbitrary: fc.subarray(SPECIALS) }),
    fc.array(fc.oneof(fc.constantFrom("##a", "a", "the", "", " ", "##"), fc.string({ unit: "binary", maxLength: 8 }).filter(NO_LINE_BREAKS)), { maxLength: 40 }),
  )
  .chain(([specials, rest]) => fc.shuffledSubarray([...specials, ...rest], { minLength: specials.length + rest.length }));

const vocabProperty = () =>
  fc.property(vocabLinesArb, fc.boolean(), textArb, (tokens, crlf, text) => {
    const vocab = tokens.join(crlf ? "\r\n" : "\n");
    const outcome = runCase("fuzz_vocab.txt", 2 * vocab.length, () => BertTokenizer.fromVocab(vocab, UNCASED_BERT, "fuzz_vocab.txt"));
    if (outcome.ok) checkEncoding(outcome.value as BertTokenizer, text, 64, "fuzz_vocab.txt");
  });

// ---- adapter_config.json -------------------------------------------------------------------------------------

const ADAPTER_CONFIGS = seedFiles(join(FIXTURES, "convert", "adapters"), "adapter_config.json").map((b) => JSON.parse(Buffer.from(b).toString("utf8")));
const ADAPTER_KEYS = [
  "config",
  "name",
  "hidden_size",
  "version",
  "type",
  "mh_adapter",
  "output_adapter",
  "reduction_factor",
  "non_linearity",
  "original_ln_before",
  "original_ln_after",
  "residual_before_ln",
  "ln_before",
  "ln_after",
  "scaling",
  "leave_out",
  "use_gating",
  "phm_layer",
  "is_parallel",
  "inv_adapter",
  "architecture",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
];

/** An edit: which object (the file or its "config"), which key, and a value (undefined deletes it). */
const adapterEditArb = fc.tuple(
  fc.boolean(),
  fc.constantFrom(...ADAPTER_KEYS),
  fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.constantFrom("pfeiffer", "houlsby", "lora", "gelu", "__proto__", "constructor", "post_add", 0, -1, 1e300)),
);

const adapterConfigProperty = () =>
  fc.property(fc.constantFrom(...ADAPTER_CONFIGS), fc.array(adapterEditArb, { maxLength: 4 }), (seed, edits) => {
    const json = JSON.parse(JSON.stringify(seed)) as Record<string, unknown>;
    for (const [inConfig, key, value] of edits) {
      const target = inConfig && json.config !== null && typeof json.config === "object" ? (json.config as Record<string, unknown>) : json;
      if (value === undefined) delete target[key];
      else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    }
    // Through JSON text, as a file on disk arrives ("__proto__" becomes an own key).
    const text = JSON.stringify(json);
    const parsed = JSON.parse(text);
    const outcome = runCase("fuzz_adapter_config.json", text.length, () => parseAdapterConfig(parsed, "fuzz_adapter_config.json"));
    if (outcome.ok) {
      const { spec } = outcome.value as ReturnType<typeof parseAdapterConfig>;
      check(typeof spec.name === "string" && Number.isSafeInteger(spec.hidden_size) && spec.hidden_size > 0, "bad name or hidden_size");
      check((ACTIVATIONS as readonly string[]).includes(spec.config.non_linearity), `activation ${String(spec.config.non_linearity)}`);
      check(typeof spec.config.scaling === "number" && Number.isFinite(spec.config.scaling), `scaling ${String(spec.config.scaling)}`);
    }
  });

export const FUZZ_TARGETS: FuzzTarget[] = [
  { name: "safetensors: mutated real files", ciRuns: 400, property: safetensorsProperty(mutatedArb(SAFETENSORS_SEEDS)) },
  { name: "safetensors: generated headers (wrong dtypes, shapes, offsets, huge lengths)", ciRuns: 400, property: safetensorsProperty(safetensorsFileArb) },
  { name: "torch zip: mutated checkpoints", ciRuns: 400, property: zipProperty },
  { name: "torch checkpoint: mutated files", ciRuns: 300, property: checkpointProperty },
  { name: "torch checkpoint: mutated pickle and storages inside valid archives", ciRuns: 400, property: stateDictProperty },
  { name: "pickle: generated and mutated pickles only ever touch the allowlist", ciRuns: 600, property: pickleAllowlistProperty },
  { name: "pickle: a forbidden global is refused whatever follows", ciRuns: 200, property: pickleDeniedFirstProperty },
  { name: "JSONL reader and input records", ciRuns: 150, property: jsonlProperty },
  { name: "tokenizer: any text", ciRuns: 300, property: tokenizerProperty },
  { name: "tokenizer: any vocabulary", ciRuns: 200, property: vocabProperty },
  { name: "adapter_config.json", ciRuns: 300, property: adapterConfigProperty },
];
