// Which backends the parity suite runs on: native only where `npm install` built its addon.
import { nativeAddonBuilt } from "../../src/backend/native/addon";

export const NATIVE_BUILT = nativeAddonBuilt();

export function parityBackends(): ("native" | "wasm" | "cpu")[] {
  return NATIVE_BUILT ? ["native", "wasm", "cpu"] : ["wasm", "cpu"];
}
