import type { Config } from "jest";

const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // swc strips types only; `npm test` type-checks the whole tree with tsc first.
  transform: { "^.+\\.ts$": ["@swc/jest", {}] },
  testTimeout: 120_000,
};

export default config;
