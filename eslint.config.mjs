// ESLint (flat config): typescript-eslint's type-checked recommended rules for the TypeScript in src/,
// convert/, test/ and benchmarks/ (and jest.config.ts), the core recommended rules for the plain
// JavaScript build scripts, and eslint-config-prettier last, so that formatting is Prettier's alone.
// `npm run lint` runs this and `prettier --check`; `npm run format` rewrites with Prettier.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores([
    "dist/",
    "native/build/",
    "weights/",
    "benchmarks/.cache/",
    "coverage/",
    "tmp/",
    "scratch/",
    // Written by PyTorch scripts and the converter: data, not code.
    "test/fixtures/models/",
  ]),

  {
    files: ["**/*.ts"],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // tsconfig.json's program (src, convert, test, benchmarks); root files such as jest.config.ts
        // are outside it and get the default program.
        projectService: { allowDefaultProject: ["*.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `_`-prefixed names are unused on purpose (a callback's position, a destructured rest).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      // require() is deliberate where a module is optional or found at run time: the native backend,
      // loaded only when chosen (an import would load the addon for everyone: src/backend/candidates.ts,
      // src/engine/localModel.ts), a package.json read for its version; those literal paths are allowed
      // here. Computed ones (an optional tfjs backend package, the addon's path, the package root's
      // package.json, onnxruntime-node in the benchmarks) only in the four files listed further down.
      "@typescript-eslint/no-require-imports": ["error", { allow: ["^(\\.\\./backend|\\.)/native$", "/package\\.json$"] }],
      // Type-only imports say so (as `import type { … }`, the style most of the code already uses).
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "separate-type-imports" }],
      // Tensor shapes go into messages as `[${shape}]`: an array printed as 1,2,3 inside our brackets is deliberate.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowArray: true }],
      // An async function without await is how this code keeps a promise API (convertModel, a runner's
      // close) and how fastify takes hooks and handlers without a `done` callback.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ["error", "always"],
      "no-constant-condition": ["error", { checkLoops: "allExceptWhileTrue" }],
    },
  },

  {
    // The browser entry: outside tsconfig.json's program (which has Node's types), type-checked by tsconfig.web.json
    // as a page sees it (the DOM, no Node), so linted with that program.
    files: ["src/web/**/*.ts"],
    languageOptions: { parserOptions: { projectService: false, project: "./tsconfig.web.json", tsconfigRootDir: import.meta.dirname } },
  },

  {
    // fastify takes async hooks (onRequestHookHandler's type lists only the callback form's void return).
    files: ["src/serve/**/*.ts"],
    rules: { "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { returns: false } }] },
  },

  {
    // Tests read JSON (CLI output, HTTP bodies, files) as `any` and assert on it: the assertion is the check.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },

  {
    // The lazy require() of the native backend (see no-require-imports above) is typed in place, as
    // `require("./native") as typeof import("./native")`: allowed in these two files only.
    files: ["src/backend/candidates.ts", "src/engine/localModel.ts"],
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "separate-type-imports", disallowTypeAnnotations: false }],
    },
  },

  {
    // The places that require() a module whose name is computed (see no-require-imports above).
    files: ["src/backend/select.ts", "src/backend/native/addon.ts", "src/node/version.ts", "benchmarks/engines.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },

  {
    // Plain JavaScript: the install script, the build scripts, the reference tokenizer runner, this file.
    files: ["**/*.{js,mjs,cjs}"],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
  },
  {
    // Plain ES modules for the browser: the demo page (examples/web) and the browser tests' page (test/browser/page).
    files: ["examples/web/**/*.js", "test/browser/page/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },

  prettier,
);
