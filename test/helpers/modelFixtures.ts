// The PyTorch-made model fixtures (test/fixtures/models/<case>, convert/reference/make_model_fixtures.py),
// converted for a test. The SPECTER2-layout case uses the real SciBERT vocabulary, committed once as
// test/fixtures/vocab/scivocab_uncased/vocab.txt (not again in its hub/base), and copied in here.
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertModel } from "../../convert/convert";
import type { Manifest } from "../../src/weights/modelDir";
import { SCIVOCAB } from "./hfTokenizer";

export const MODEL_FIXTURES = join(__dirname, "..", "fixtures", "models");

export interface ReferenceRunInfo {
  name: string;
  adapterDir: string | null;
}

export function referenceRuns(name: string): ReferenceRunInfo[] {
  return (JSON.parse(readFileSync(join(MODEL_FIXTURES, name, "reference.json"), "utf8")) as { runs: ReferenceRunInfo[] }).runs;
}

/** A temporary copy of the case's Hub directories, complete with its vocabulary. */
export function hubCopy(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `fixture-${name}-`)), "hub");
  cpSync(join(MODEL_FIXTURES, name, "hub"), dir, { recursive: true });
  if (!existsSync(join(dir, "base", "vocab.txt"))) cpSync(SCIVOCAB, join(dir, "base", "vocab.txt"));
  return dir;
}

/** The SPECTER2-layout case served under SPECTER2's names (test/helpers/fakeHub.ts): its base, and its two adapters
 *  as proximity and adhoc_query, again as classification and regression. */
export function specter2LayoutRepos(): Record<string, string> {
  const hub = hubCopy("specter2_layout");
  return {
    "allenai/specter2_base": join(hub, "base"),
    "allenai/specter2": join(hub, "proximity"),
    "allenai/specter2_adhoc_query": join(hub, "adhoc_query"),
    "allenai/specter2_classification": join(hub, "proximity"),
    "allenai/specter2_regression": join(hub, "adhoc_query"),
  };
}

/** The case converted with every adapter of its reference, named as the reference names its runs. */
export async function convertModelFixture(name: string): Promise<{ out: string; manifest: Manifest; adapters: string[] }> {
  const hub = hubCopy(name);
  const adapters = referenceRuns(name)
    .filter((r) => r.adapterDir !== null)
    .map((r) => ({ name: r.name, dir: join(hub, "..", r.adapterDir!) }));
  const out = join(hub, "..", "model");
  const manifest = await convertModel({ base: join(hub, "base"), adapters, out });
  return { out, manifest, adapters: adapters.map((a) => a.name) };
}
