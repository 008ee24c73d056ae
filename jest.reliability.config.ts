// The reliability project (docs/reliability.md): hostile clients and careless inputs against the built CLI and
// `specter2 serve`, and the long fuzz and soak runs. On demand, not in `npm test`: `npm run test:reliability`
// builds dist/ as `npm test` does and runs it; `npm run test:reliability -- <file name>` runs some of it.
import type { Config } from "jest";
import base from "./jest.config";

const config: Config = {
  ...base,
  displayName: "reliability",
  roots: ["<rootDir>/test/reliability"],
  testPathIgnorePatterns: ["/node_modules/"],
  // Any CLI process a test left behind (one that ran out of time) is killed after it.
  setupFilesAfterEnv: ["<rootDir>/test/reliability/setup.ts"],
  // One file at a time: the attacks time answers and the long runs sample memory, which a second file would disturb.
  maxWorkers: 1,
  // The long fuzz and soak runs take minutes by design (longer with FUZZ_SECONDS, SOAK_EMBEDDINGS): an hour per file.
  reporters: ["default", ["<rootDir>/test/watchdog.cjs", { fileBoundSeconds: 3600, reportEverySeconds: 300 }]],
};

export default config;
