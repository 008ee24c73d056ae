// The reliability project (docs/reliability.md): hostile clients and careless inputs against the built CLI and
// `specter2 serve`, and the long fuzz and soak runs. On demand, not in `npm test`: `npm run test:reliability`
// builds dist/ as `npm test` does and runs it; `npm run test:reliability -- <file name>` runs some of it.
import type { Config } from "jest";
import base from "./jest.config";

/** The test files of docs/reliability.md's "Hostile inputs" table, rows 1–15. */
const HOSTILE_INPUT_TESTS = [
  "test/serve/limits.test.ts", // 1, 2, 4
  "test/serve/jsonBodyThread.test.ts", // 1
  "test/serve/notFinite.test.ts", // 3
  "test/serve/shutdown.test.ts", // 5
  "test/cli/embedOutput.test.ts", // 6–10
  "test/io/outputLock.test.ts", // 8
  "test/io/writeTarget.test.ts", // 6, 7
  "test/io/sink.test.ts", // 9, 10
  "test/io/atomicFile.test.ts", // 10
  "test/cli/convert.test.ts", // 10, 11, 12
  "test/convert/torchCheckpoint.test.ts", // 12
  "test/cli/specialFiles.test.ts", // 13
  "test/hub/download.test.ts", // 14
  "test/cli/download.test.ts", // 14
  "test/cli/webServer.test.ts", // 15
  "test/browser/webCommand.test.ts", // 15
];

const config: Config = {
  ...base,
  displayName: "reliability",
  roots: ["<rootDir>/test"],
  // The project's own files, and the suite's files that hold the hostile-input tests (docs/reliability.md, "Hostile
  // inputs"): so that one command reruns every attack, each of which also runs in `npm test`.
  testMatch: ["<rootDir>/test/reliability/**/*.test.ts", ...HOSTILE_INPUT_TESTS.map((file) => `<rootDir>/${file}`)],
  testPathIgnorePatterns: ["/node_modules/"],
  // Any CLI process a test left behind (one that ran out of time) is killed after it.
  setupFilesAfterEnv: ["<rootDir>/test/reliability/setup.ts"],
  // One file at a time: the attacks time answers and the long runs sample memory, which a second file would disturb.
  maxWorkers: 1,
  // The long fuzz and soak runs take minutes by design (longer with FUZZ_SECONDS, SOAK_EMBEDDINGS): an hour per file.
  reporters: ["default", ["<rootDir>/test/watchdog.cjs", { fileBoundSeconds: 3600, reportEverySeconds: 300 }]],
};

export default config;
