import type { Config } from "jest";

const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // swc strips types only; `npm test` type-checks the whole tree with tsc first.
  transform: { "^.+\\.ts$": ["@swc/jest", {}] },
  testTimeout: 300_000,
  // Jest runs in band when it computes one worker (2 cores - 1); the suites are CPU-bound and independent.
  maxWorkers: 2,
};

export default config;
