// The import direction of docs/architecture.md ("Layers"), checked by `npm run lint` (depcruise): the core
// (model, tokenizer, model-directory format, engine) imports only itself and tfjs-core, never `node:`; the runtimes
// (backends, worker pool, the Node and browser loaders, the Hub and the Hugging Face cache in Node, Node file I/O)
// import the core and each other; the applications (cli, serve, pipeline, shard, slurm, search, langchain, convert)
// import anything below them, and only the CLI imports the CLI. No import cycle anywhere, type-only imports included.
const CORE = "^src/(errors\\.ts$|lengthBatches\\.ts$|model/|tokenizer/|weights/|engine/)";
const RUNTIME = "^src/(backend|pool|node|web|hub|io)/";
const APPLICATIONS = "^(src/(cli|serve|pipeline|shard|slurm|search|langchain)/|src/(index|parity|modelInfo|shellQuote)\\.ts$|convert/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "An import cycle: modules that need each other are one module, or one of them holds what both need.",
      from: { path: "^(src|convert)/" },
      to: { circular: true },
    },
    {
      name: "core-imports-core",
      severity: "error",
      comment: "The core knows no runtime, backend or application: it imports only the core and @tensorflow/tfjs-core.",
      from: { path: CORE },
      to: { pathNot: [CORE, "(^|/)node_modules/@tensorflow/tfjs-core/"] },
    },
    {
      name: "core-without-node",
      severity: "error",
      comment: "The core runs in a page too: no Node built-in modules.",
      from: { path: CORE },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "runtime-below-applications",
      severity: "error",
      comment: "A runtime (backend, pool, Node or browser loader, the Hub in Node, file I/O) imports no application.",
      from: { path: RUNTIME },
      to: { path: APPLICATIONS },
    },
    {
      name: "cli-on-top",
      severity: "error",
      comment: "Only the CLI imports the CLI: the pipeline, shard and serve are called by it, never the reverse.",
      from: { path: "^(src|convert)/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "convert-on-the-core",
      severity: "error",
      comment: "The converter imports the core and Node's files and Hub (src/io, src/node, src/hub) only, so that the library never depends on it.",
      from: { path: "^convert/" },
      to: { path: "^src/", pathNot: [CORE, "^src/(io|node|hub)/"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|native/build)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
