// Which backends the parity suite runs on: native only where `npm install` built its addon.
import { existsSync } from "node:fs";
import { nativeAddonPath } from "../src/backend/native/addon";

export const NATIVE_BUILT = existsSync(nativeAddonPath());

export function parityBackends(): ("native" | "wasm" | "cpu")[] {
  return NATIVE_BUILT ? ["native", "wasm", "cpu"] : ["wasm", "cpu"];
}
