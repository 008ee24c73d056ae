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
      // require() is deliberate where a module is optional or found at run time: the optional backend
      // packages and the native addon (src/backend/select.ts, src/backend/native/addon.ts), the package's
      // own package.json (src/version.ts), onnxruntime-node in the benchmarks, and a lazily loaded
      // native backend, whose import would load the addon for everyone. Literal paths are allowed here;
      // computed ones (require(c.pkg), require(nativeAddonPath()), …) only in the files below.
      "@typescript-eslint/no-require-imports": ["error", { allow: ["^(\\.\\./backend|\\.)/native$", "/package\\.json$"] }],
      // Type-only imports say so, and stay out of the emitted JavaScript.
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "inline-type-imports" }],
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ["error", "always"],
      "no-constant-condition": ["error", { checkLoops: "allExceptWhileTrue" }],
    },
  },

  {
    // The places that require() a module whose name is computed (see no-require-imports above).
    files: ["src/backend/select.ts", "src/backend/native/addon.ts", "src/version.ts", "benchmarks/engines.ts"],
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

  prettier,
);
