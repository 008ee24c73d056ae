// A model directory that cannot be loaded, on wasm, as a user meets it: `specter2 embed` and `specter2 serve`, in-process
// and with a worker, must end with the loader's error and its exit status (before, wasm ended with exit 1), never a
// signal or a hang. test/native/failedLoad.test.ts runs the same cases on the native backend, where they crashed.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokenModelCommands, brokenModelProblem, BROKEN_MODELS } from "../../helpers/brokenModels";
import { DEMO_MODEL, runCli } from "../../helpers/builtCli";

const work = mkdtempSync(join(tmpdir(), "specter2-broken-wasm-"));

describe.each(BROKEN_MODELS)("$name", (c) => {
  const dir = join(work, c.name.replace(/\W+/g, "-"));
  beforeAll(() => {
    cpSync(DEMO_MODEL, dir, { recursive: true });
    c.damage(dir);
  });

  for (const [command, args] of brokenModelCommands(dir, join(work, "out.jsonl"))) {
    for (const workers of [0, 1]) {
      it(`${command} --workers ${workers} on wasm: the loader's error and exit status, no signal`, async () => {
        // 30 s: a load that fails takes well under a second; one still running then hangs.
        const o = await runCli([...args, "--backend", "wasm", "--workers", String(workers)], { cwd: work, timeoutMs: 30_000 });
        expect(brokenModelProblem(o, c)).toBeNull();
      });
    }
  }
});
