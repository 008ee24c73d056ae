// The one warning a run gets when `auto` could not take the fast path: the native addon is not built here.
import { existsSync } from "node:fs";
import { nativeAddonPath } from "../backend/native/addon";
import type { BackendInfo } from "../engine/options";
import { hint } from "../backend/candidates";

let warned = false;

/** Once per process: why auto runs a slow backend and the command that gets the native one; else null. */
export function noNativeWarning(backend: BackendInfo): string | null {
  if (warned || (backend.choice !== "wasm" && backend.choice !== "cpu") || existsSync(nativeAddonPath())) return null;
  warned = true;
  return `the native backend is not built, so auto runs ${backend.choice}, several times slower (docs/backends.md); to build it: ${hint("native").trim().slice(1, -1)}`;
}
