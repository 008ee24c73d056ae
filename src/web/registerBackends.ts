// The page's tfjs backends besides wasm (which backends.ts imports by name), registered with tfjs by importing them.
// Only the bundles' entries import this module (bundle.ts, worker.ts): a declaration file keeps a bare import, so
// from any module that src/web/index.ts reaches it would pull tfjs' own declarations into a user's type check, where
// they fail without skipLibCheck (TS2304, `Long` in tfjs-core's hash_util.d.ts). package.json's "sideEffects" names
// this file, or esbuild would drop the bare import of it as having no effect.
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgl";
import "@tensorflow/tfjs-backend-webgpu";
