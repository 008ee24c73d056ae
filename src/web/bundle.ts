// The page bundles' entry (scripts/build-web.mjs): the page's tfjs backends registered, then the browser entry's API,
// src/web/index.ts, whose declarations are the package's for the browser condition.
import "./registerBackends";
export * from "./index";
