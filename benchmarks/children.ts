// The engines each in a fresh process, so each one's peak RSS is its own: this project's and onnxruntime-node
// through engine.ts, PyTorch through convert/reference/bench_torch.py. Used by run.ts and memory.ts.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import type { Precision } from "../src/model/config";
import type { EngineName, EngineReport, EngineSpec } from "./engine";
import { ADAPTER } from "./engines";
import { CACHE } from "./fullModel";

const PYTHON = "/usr/bin/python3";
const REFERENCE = join(__dirname, "..", "convert", "reference");
const log = (line: string) => process.stderr.write(`${line}\n`);

export function ensureOnnx(hub: string): string {
  const onnx = join(CACHE, "specter2-random.onnx");
  if (!existsSync(onnx)) {
    log("exporting the ONNX model with PyTorch (once)");
    execFileSync(PYTHON, [join(REFERENCE, "export_onnx.py"), hub, ADAPTER, onnx], { stdio: "inherit" });
  }
  return onnx;
}

/** Runs engine.ts in a fresh Node process (through ts-node when run from sources). */
export function runEngine(name: EngineName, spec: EngineSpec): EngineReport {
  const specPath = join(CACHE, `spec-${name}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const script = join(__dirname, `engine${extname(__filename)}`);
  const loader = extname(__filename) === ".ts" ? ["-r", "ts-node/register/transpile-only"] : [];
  const child = spawnSync(process.execPath, [...loader, script, name, specPath], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  if (child.status !== 0) throw new Error(`engine ${name} failed (exit ${child.status})`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as EngineReport;
}

export function runTorch(hub: string, spec: EngineSpec, precision: Precision): { report: EngineReport; version: string } {
  const specPath = join(CACHE, `spec-torch-${precision}.json`);
  writeFileSync(specPath, JSON.stringify({ warmup: spec.warmup[0], workloads: spec.workloads }));
  const out = execFileSync(PYTHON, [join(REFERENCE, "bench_torch.py"), hub, ADAPTER, specPath, String(spec.threads), precision], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  const parsed = JSON.parse(out.trim().split("\n").pop()!) as EngineReport & { torch: string };
  return { report: parsed, version: parsed.torch };
}
