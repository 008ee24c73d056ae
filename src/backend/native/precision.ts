// What this machine does with reduced precision: the CPU's relevant instruction sets (from /proc/cpuinfo) and, per
// precision, the oneDNN implementation a large product gets here, i.e. whether it runs in hardware or is emulated
// (slower than fp32). Read by `specter2 info`, the load's warning, and the benchmarks' headers.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import type { Precision } from "../../model/config";
import { loadAddon } from "./addon";

/** The CPU flags that decide how bf16 and int8 products run, in the order `info` prints them. */
export const ISA_FLAGS = ["amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2"] as const;
const FLAG_NAMES: Record<(typeof ISA_FLAGS)[number], string> = {
  amx_bf16: "AMX-BF16",
  amx_int8: "AMX-INT8",
  avx512_bf16: "AVX512-BF16",
  avx512_vnni: "AVX512-VNNI",
  avx_vnni: "AVX-VNNI",
  avx512f: "AVX-512",
  avx2: "AVX2",
};

export interface CpuIsa {
  model: string;
  /** Which of ISA_FLAGS the CPU has; null where /proc/cpuinfo is not there (not Linux). */
  flags: Record<(typeof ISA_FLAGS)[number], boolean> | null;
}

export function cpuIsa(cpuinfo: string | null = readCpuinfo()): CpuIsa {
  const model = cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? cpus()[0]?.model ?? "unknown CPU";
  const line = cpuinfo?.match(/^flags\s*:\s*(.+)$/m)?.[1];
  if (line === undefined) return { model, flags: null };
  const have = new Set(line.trim().split(/\s+/));
  return { model, flags: Object.fromEntries(ISA_FLAGS.map((f) => [f, have.has(f)])) as CpuIsa["flags"] };
}

function readCpuinfo(): string | null {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}

/** "AVX512-BF16 yes, AVX512-VNNI yes, AMX-BF16 no, …", or why not known. */
export function formatIsa(isa: CpuIsa): string {
  if (isa.flags === null) return `${isa.model} (instruction sets unknown: no /proc/cpuinfo)`;
  const flags = isa.flags;
  return `${isa.model}: ${ISA_FLAGS.map((f) => `${FLAG_NAMES[f]} ${flags[f] ? "yes" : "no"}`).join(", ")}`;
}

export interface PrecisionSupport {
  precision: Precision;
  /** The oneDNN implementation of a 256×768·768×3072 product at this precision ("brg:avx512_core_bf16"). */
  impl: string;
  /** Whether it runs on instructions made for it (bf16: AVX512-BF16 or AMX; int8: VNNI or AMX). */
  hardware: boolean;
}

export interface NativePrecisionInfo {
  /** oneDNN's effective ISA. */
  isa: string;
  /** int8 activations use 8 bits (VNNI, AMX), else 7 (vpmaddubsw saturates 16 bits otherwise). */
  int8FullRange: boolean;
  precisions: PrecisionSupport[];
}

const HARDWARE: Record<Precision, RegExp> = { fp32: /./, bf16: /bf16|amx/, int8: /vnni|amx/ };

/** Asks oneDNN (loads the addon: throws MODULE_NOT_FOUND where it is not built). */
export function nativePrecisionInfo(): NativePrecisionInfo {
  const info = loadAddon().precisionInfo();
  const impl: Record<Precision, string> = { fp32: info.f32, bf16: info.bf16, int8: info.int8 };
  const precisions = (["fp32", "bf16", "int8"] as const).map((precision) => ({
    precision,
    impl: impl[precision],
    hardware: !impl[precision].startsWith("unsupported") && !impl[precision].startsWith("ref") && HARDWARE[precision].test(impl[precision]),
  }));
  return { isa: info.isa, int8FullRange: info.int8FullRange, precisions };
}

const WANTS: Record<Precision, string> = { fp32: "", bf16: "AVX512-BF16 or AMX", int8: "AVX512-VNNI, AVX-VNNI or AMX" };

function unsupported(p: PrecisionSupport): boolean {
  return p.impl.startsWith("unsupported");
}

/** One line per precision: "bf16  brg:avx512_core_bf16 (in hardware)". */
export function formatPrecisionSupport(info: NativePrecisionInfo): string[] {
  return info.precisions.map((p) => {
    const how =
      p.precision === "fp32" || p.hardware
        ? p.precision === "fp32"
          ? ""
          : " (in hardware)"
        : unsupported(p)
          ? ` (not available on this CPU: no ${WANTS[p.precision]})`
          : ` (no ${WANTS[p.precision]}: ${p.precision === "bf16" ? "emulated" : "older instructions, 7-bit activations"}, expect it slower than fp32)`;
    return `${p.precision.padEnd(5)} ${p.impl}${how}`;
  });
}

/** BACKEND_UNAVAILABLE-worthy: the reason `precision` cannot run here at all (oneDNN has no implementation), else null. */
export function precisionUnavailable(precision: Precision, info: NativePrecisionInfo = nativePrecisionInfo()): string | null {
  const p = info.precisions.find((x) => x.precision === precision);
  if (p === undefined || !unsupported(p)) return null;
  return `precision ${precision} is not available on this CPU (it has no ${WANTS[precision]}, and oneDNN ${p.impl}): use precision fp32`;
}

/** The warning a load at `precision` gets where the CPU has no instructions for it, else null. */
export function precisionWarning(precision: Precision, info: NativePrecisionInfo = nativePrecisionInfo()): string | null {
  const p = info.precisions.find((x) => x.precision === precision);
  if (precision === "fp32" || p === undefined || p.hardware) return null;
  return `precision ${precision}: this CPU has no ${WANTS[precision]} (oneDNN runs the products as ${p.impl}), so ${precision} may well be slower than fp32 here, not faster`;
}
