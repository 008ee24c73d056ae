// Errors callers can catch and tell apart: real failures arrive as Specter2Error with a stable `code` and
// what they concern in fields (file, line, tensor, adapter, url), and the CLI turns each code into its exit status.
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTorchCheckpoint } from "../../src/weights/torch/checkpoint";
import { initBackend } from "../../src/backend/select";
import { EXIT_CODES, exitCodeOf, failureExitCode, OTHER_EXIT_CODE, USAGE_EXIT_CODE } from "../../src/cli/exitCodes";
import type { ErrorCode } from "../../src/errors";
import { ERROR_CODES, isSpecter2Error, Specter2Error } from "../../src/errors";
import { downloadHubFile, DownloadProgress } from "../../src/hub/downloadFile";
import { HubError, resolveUrl } from "../../src/weights/hub/hubErrors";
import { JsonlError, readJsonl } from "../../src/io/jsonl";
import { RecordError } from "../../src/io/records";
import { AdapterSet, unknownAdapter } from "../../src/model/adapter";
import type { BadInputItem } from "../../src/pipeline/inputItems";
import { inputItems } from "../../src/pipeline/inputItems";
import { openModelDirectory, readSafetensors } from "../../src/node/modelDirectory";
import { loadAdapterFiles, loadBaseTensors } from "../../src/weights/openModel";
import { parseSafetensors, SafetensorsError } from "../../src/weights/safetensors";
import { checkFiniteVector, IntegrityError } from "../../src/weights/modelDir";
import { FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";

const DEMO = join(__dirname, "..", "..", "weights", "specter2-tiny");
const tmp = mkdtempSync(join(tmpdir(), "specter2-errors-"));

function copyOfDemo(name: string): string {
  const dir = join(tmp, name);
  cpSync(DEMO, dir, { recursive: true });
  return dir;
}

/** What `fn` throws (or the promise rejects with); fails the test when nothing is thrown. */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, none was thrown");
}

/** The error, checked to be a Specter2Error of `code`. */
async function specter2Error(code: ErrorCode, fn: () => unknown): Promise<Specter2Error> {
  const e = await caught(fn);
  expect(e).toBeInstanceOf(Specter2Error);
  expect((e as Specter2Error).code).toBe(code);
  return e as Specter2Error;
}

describe("model directories and checkpoints", () => {
  test("a missing model directory is MODEL_NOT_FOUND naming it", async () => {
    const dir = join(tmp, "no-such-model");
    const e = await specter2Error("MODEL_NOT_FOUND", () => openModelDirectory(dir));
    expect(e.file).toBe(dir);
    expect(e.message).toBe(`${dir}: no such model directory (make one with \`specter2 convert\`)`);
    expect(e.details()).toEqual({ file: dir });
    expect(isSpecter2Error(e, "MODEL_NOT_FOUND")).toBe(true);
    expect(isSpecter2Error(e, "BAD_CHECKPOINT")).toBe(false);
  });

  test("a model directory whose manifest is gone is MODEL_NOT_FOUND, an unreadable one BAD_CHECKPOINT, naming it", async () => {
    const dir = copyOfDemo("no-manifest");
    const manifest = join(dir, "manifest.json");
    truncateSync(manifest, 0);
    const empty = await specter2Error("BAD_CHECKPOINT", () => openModelDirectory(dir));
    expect(empty.file).toBe(manifest);
    expect(empty.message).toMatch(/manifest\.json: not valid JSON: /);
    rmSync(manifest);
    const gone = await specter2Error("MODEL_NOT_FOUND", () => openModelDirectory(dir));
    expect(gone.file).toBe(manifest);
  });

  test("a truncated safetensors file is BAD_CHECKPOINT naming the file and the tensor that runs past its end", async () => {
    const dir = copyOfDemo("truncated");
    const path = join(dir, "model.safetensors");
    const whole = parseSafetensors(new Uint8Array(readFileSync(path)), path);
    // The tensor whose bytes end last is the one a cut-off file loses first.
    const last = [...whole.tensors].reduce((a, b) => (b[1].data.byteOffset + b[1].data.byteLength > a[1].data.byteOffset + a[1].data.byteLength ? b : a))[0];
    truncateSync(path, readFileSync(path).byteLength - 100);
    const e = await specter2Error("BAD_CHECKPOINT", async () => loadBaseTensors(openModelDirectory(dir)));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.file).toBe(path);
    expect(e.tensor).toBe(last);
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: tensor "${last}": data_offsets .* run past the data section`));
  });

  test("a safetensors file cut inside its header is BAD_CHECKPOINT naming the file, with no tensor", async () => {
    const path = join(tmp, "header-cut.safetensors");
    writeFileSync(path, readFileSync(join(DEMO, "model.safetensors")).subarray(0, 64));
    const e = await specter2Error("BAD_CHECKPOINT", () => readSafetensors(path));
    expect(e.file).toBe(path);
    expect(e.tensor).toBeUndefined();
    expect(e.message).toMatch(/runs past the end of the file .*: truncated\?$/);
  });

  test("a weights file missing from the directory is MODEL_NOT_FOUND naming it", async () => {
    const path = join(tmp, "absent.safetensors");
    const e = await specter2Error("MODEL_NOT_FOUND", () => readSafetensors(path));
    expect(e.file).toBe(path);
    expect(e.cause).toMatchObject({ code: "ENOENT" });
  });

  test("a file that fails --verify is BAD_CHECKPOINT naming the altered file", async () => {
    const dir = copyOfDemo("altered");
    const path = join(dir, "adapters", "regression.json");
    writeFileSync(path, readFileSync(path, "utf8").replace(/\s+$/, "") + " ");
    const e = await specter2Error("BAD_CHECKPOINT", () => openModelDirectory(dir, { verify: true }));
    expect(e).toBeInstanceOf(IntegrityError);
    expect(e.file).toBe(path);
    expect(e.message).toMatch(/model directory failed verification \(1 of 12 files\)/);
  });

  test("an adapter the directory lacks is UNKNOWN_ADAPTER naming it", async () => {
    const e = await specter2Error("UNKNOWN_ADAPTER", async () => loadAdapterFiles(openModelDirectory(DEMO), "bogus"));
    expect(e.adapter).toBe("bogus");
    expect(e.file).toBe(DEMO);
  });

  test("a file that is not a torch checkpoint is BAD_CHECKPOINT naming it; so is a corrupt zip", async () => {
    const notZip = await specter2Error("BAD_CHECKPOINT", () => parseTorchCheckpoint(new Uint8Array([1, 2, 3, 4, 5]), "w.bin"));
    expect(notZip.file).toBe("w.bin");
    const zip = new Uint8Array(readFileSync(join(SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], "pytorch_model.bin")));
    const cut = await specter2Error("BAD_CHECKPOINT", () => parseTorchCheckpoint(zip.subarray(0, zip.byteLength - 30), "cut.bin"));
    expect(cut.file).toBe("cut.bin");
    expect(cut.name).toBe("ZipError");
  });

  test("an embedding that is not finite is NOT_FINITE, with the details the caller gives", async () => {
    const e = await specter2Error("NOT_FINITE", () => checkFiniteVector(new Float32Array([0, NaN]), "input 3", { input: 3 }));
    expect(e.input).toBe(3);
    expect(e.message).toBe("the embedding of input 3 holds NaN at dimension 1: the weights or activations overflow float32");
  });
});

describe("adapters", () => {
  test("unknownAdapter is UNKNOWN_ADAPTER naming the adapter", () => {
    const e = unknownAdapter("bogus", ["proximity", "regression"]);
    expect(e).toBeInstanceOf(Specter2Error);
    expect(e.code).toBe("UNKNOWN_ADAPTER");
    expect(e.adapter).toBe("bogus");
    expect(e.message).toBe('unknown adapter "bogus" (loaded: proximity, regression)');
  });

  test("asking an AdapterSet for an adapter it does not hold throws it", async () => {
    const set = new AdapterSet();
    const e = await specter2Error("UNKNOWN_ADAPTER", () => set.get("proximity"));
    expect(e.adapter).toBe("proximity");
    expect(e.message).toBe('unknown adapter "proximity" (loaded: none)');
  });
});

describe("inputs", () => {
  const lines = ['{"paper_id": "a", "title": "One", "abstract": "x"}', '{"paper_id": "b", "title": "Two"', '{"paper_id": "c", "title": 3}'];
  const input = join(tmp, "papers.jsonl");
  writeFileSync(input, `${lines.join("\n")}\n`);

  test("the pipeline's input reader hands out a malformed line as BAD_INPUT naming the file and line", async () => {
    const items = [];
    for await (const item of inputItems(input, "[SEP]")) items.push(item);
    expect(items.map((i) => ("error" in i ? "bad" : i.id))).toEqual(["a", "bad", "bad"]);
    const [malformed, wrongType] = items.slice(1) as BadInputItem[];
    expect(malformed.cause).toBeInstanceOf(JsonlError);
    expect(malformed.cause).toMatchObject({ code: "BAD_INPUT", file: input, line: 2 });
    expect(malformed.error).toBe(malformed.cause.message);
    expect(malformed.error).toMatch(new RegExp(`:2: malformed JSON`));
    expect(wrongType.cause).toBeInstanceOf(RecordError);
    expect(wrongType.cause).toMatchObject({ code: "BAD_INPUT", file: input, line: 3, field: "title" });
  });

  test("readJsonl throws the malformed line as BAD_INPUT naming the file and line", async () => {
    const e = await specter2Error("BAD_INPUT", async () => {
      for await (const _ of readJsonl(input)) void _;
    });
    expect(e.file).toBe(input);
    expect(e.line).toBe(2);
  });

  test("an input file that cannot be read is BAD_INPUT naming it", async () => {
    const missing = join(tmp, "missing.jsonl");
    const e = await specter2Error("BAD_INPUT", async () => {
      for await (const _ of readJsonl(missing)) void _;
    });
    expect(e.file).toBe(missing);
    expect(e.message).toBe(`${missing}: cannot read (ENOENT)`);
  });
});

describe("backends", () => {
  const installed = (pkg: string) => {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      return false;
    }
  };
  (installed("@tensorflow/tfjs-node") ? test.skip : test)("a backend that is not installed is BACKEND_UNAVAILABLE", async () => {
    const e = await specter2Error("BACKEND_UNAVAILABLE", () => initBackend("node"));
    expect(e.message).toBe('backend "node" is not available: not installed (npm install @tensorflow/tfjs-node)');
  });

  test("an unknown backend name is BAD_INPUT", async () => {
    const e = await specter2Error("BAD_INPUT", () => initBackend("tpu" as never));
    expect(e.field).toBe("backend");
  });
});

describe("the Hub", () => {
  let hub: FakeHub;
  afterEach(async () => {
    await hub?.close();
  });

  test("a repo the Hub does not have (401, as for a private one) is HUB_ERROR with the URL and status", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const stream = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const request = { repo: "allenai/no-such-repo", revision: "main", file: "config.json", optional: false };
    const e = await specter2Error("HUB_ERROR", () => downloadHubFile(request, join(tmp, "hub"), { endpoint: hub.endpoint }, new DownloadProgress(stream)));
    expect(e).toBeInstanceOf(HubError);
    expect(e.url).toBe(resolveUrl(hub.endpoint, request.repo, "main", "config.json"));
    expect((e as HubError).status).toBe(401);
    expect(e.message).toMatch(/HTTP 401, repo allenai\/no-such-repo does not exist/);
  });
});

describe("exit codes", () => {
  const expected: Record<ErrorCode, number> = {
    MODEL_NOT_FOUND: 3,
    BAD_CHECKPOINT: 3,
    UNKNOWN_ADAPTER: 3,
    BAD_INPUT: 4,
    BACKEND_UNAVAILABLE: 5,
    HUB_ERROR: 6,
    OUTPUT_ERROR: 7,
    WORKER_FAILED: 1,
    NOT_FINITE: 1,
  };

  test.each(ERROR_CODES.map((code) => [code, expected[code]] as const))("%s exits %i", (code, status) => {
    expect(exitCodeOf(new Specter2Error(code, "x"))).toBe(status);
    expect(EXIT_CODES[code]).toBe(status);
  });

  test("subclasses exit by their code; other errors and non-errors exit 1", () => {
    expect(exitCodeOf(new HubError("x"))).toBe(6);
    expect(exitCodeOf(new JsonlError("f", 1, "x"))).toBe(4);
    expect(exitCodeOf(new Error("x"))).toBe(OTHER_EXIT_CODE);
    expect(exitCodeOf(Object.assign(new Error("x"), { code: "BAD_INPUT" }))).toBe(1);
    expect(exitCodeOf("BAD_INPUT")).toBe(1);
    expect(exitCodeOf(undefined)).toBe(1);
  });

  test("yargs' usage failures exit 2, a command's errors by their code", () => {
    // As yargs calls .fail(): its own checks with a message only, a .check() that threw with both, a handler with the error only.
    expect(failureExitCode("Unknown argument: bogus", undefined)).toBe(USAGE_EXIT_CODE);
    expect(failureExitCode("Missing required argument: model", undefined)).toBe(2);
    expect(failureExitCode("--threads must be an integer from 1 to 1024, got 0", new Error("--threads must be an integer from 1 to 1024, got 0"))).toBe(2);
    expect(failureExitCode(null, new Specter2Error("OUTPUT_ERROR", "x"))).toBe(7);
    expect(failureExitCode(null, new Specter2Error("MODEL_NOT_FOUND", "x"))).toBe(3);
    expect(failureExitCode(null, new Error("x"))).toBe(1);
  });

  describe("specter2 (main, in process)", () => {
    /** The status main() exits with and what it wrote to stderr; process.exit is stopped by a throw. */
    async function exitOf(args: string[]): Promise<{ status: number | undefined; stderr: string }> {
      let stderr = "";
      let status: number | undefined;
      const exit = jest.spyOn(process, "exit").mockImplementation(((code?: number) => {
        status ??= code;
        throw new Error(`process.exit(${code})`);
      }) as never);
      const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
      try {
        const { main } = await import("../../src/cli/main");
        await main(args).catch(() => undefined);
      } finally {
        exit.mockRestore();
        write.mockRestore();
      }
      return { status, stderr };
    }

    test("usage mistakes exit 2: an unknown option, a missing required one, a failed .check()", async () => {
      expect((await exitOf(["embed", "--model", DEMO, "--input", "x", "--output", "y", "--bogus"])).status).toBe(2);
      const missing = await exitOf(["embed", "--model", DEMO]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/specter2: Missing required arguments?: input, output\n$/);
      const checked = await exitOf(["embed", "--model", DEMO, "--input", "x", "--output", "y", "--threads", "0"]);
      expect(checked.status).toBe(2);
      expect(checked.stderr).toBe("specter2: --threads must be an integer from 1 to 1024, got 0\n");
    });

    test("a missing model directory exits 3 with one line", async () => {
      const dir = join(tmp, "cli-no-model");
      const r = await exitOf(["embed", "--model", dir, "--input", "x", "--output", join(tmp, "cli-out.jsonl")]);
      expect(r).toEqual({ status: 3, stderr: `specter2: ${dir}: no such model directory (make one with \`specter2 convert\`)\n` });
    });
  });
});
