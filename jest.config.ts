import type { Config } from "jest";

const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // The reliability project runs on demand, with its own config (jest.reliability.config.ts, `npm run test:reliability`).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/reliability/"],
  // swc strips types only; `npm test` type-checks the whole tree with tsc first.
  transform: { "^.+\\.ts$": ["@swc/jest", {}] },
  testTimeout: 300_000,
  // Jest runs in band when it computes one worker (2 cores - 1); the suites are CPU-bound and independent.
  maxWorkers: 2,
  // A test file that runs past 10 minutes (the slowest take about 2 under CI's load) fails the run, naming it, instead
  // of stalling it; and every 2 minutes without a file finishing, the files running are printed (test/watchdog.cjs).
  reporters: ["default", ["<rootDir>/test/watchdog.cjs", { fileBoundSeconds: 600, reportEverySeconds: 120 }]],
};

export default config;
