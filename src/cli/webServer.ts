// `specter2 web`'s server (imported when the command runs): static files over HTTP with the headers a page needs
// to be cross-origin isolated (COOP + COEP, so tfjs-backend-wasm may run threads on SharedArrayBuffer), from a few
// folders mounted at URL prefixes. The browser tests serve through it too (test/helpers/browser.ts).
//
// The demo's URL space is dist/web's own layout, so its relative paths hold wherever dist/web is served:
//   /               → dist/web (redirected to /demo/; specter2.js, specter2.worker.js, the .wasm files, esm/, demo/)
//   /demo/          → the demo page (examples/web, copied into dist/web/demo by npm run build:web)
//   /model/         → the model directory (the page's default ?model=../model/): its manifest's files only
// Nothing is served through a symlink that leads out of its mount's folder (compared by realpath), so a link inside
// the model directory to /etc/passwd is a 404, and neither is anything in the model directory besides the model.
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { extname, join, relative, resolve, sep } from "node:path";
import { Specter2Error } from "../errors";
import { readRegularFile } from "../io/regularFile";
import { CONFIG_FILE, MANIFEST_FILE, TOKENIZER_CONFIG_FILE, VOCAB_FILE } from "../weights/modelDir";

/** The headers that make a page cross-origin isolated (`crossOriginIsolated` true), sent with every response. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "application/x-ndjson; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
};

/** A folder served at a URL prefix; `files`, when given, says which of its files may be served (relative paths,
 *  "/"-separated), asked at each request. */
export interface Mount {
  dir: string;
  files?: (path: string) => boolean;
}

export interface StaticServerOptions {
  /** URL prefix ("/", "/model/") → folder; the longest prefix that matches a request serves it. */
  mounts: Record<string, string | Mount>;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Send ISOLATION_HEADERS (default true); false serves a page that is not cross-origin isolated. */
  isolate?: boolean;
  /** Exact paths answered with a redirect: { "/": "/demo/" }. */
  redirects?: Record<string, string>;
  /** Called with each request's method and decoded path, before it is answered (the tests count requests). */
  onRequest?: (method: string, path: string) => void;
}

export interface StaticServer {
  /** http://host:port (no trailing slash). */
  readonly url: string;
  readonly server: Server;
  /** Mounts a folder at a prefix (replacing what was there), or unmounts it (null). */
  mount(prefix: string, dir: string | Mount | null): void;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

function normalPrefix(prefix: string): string {
  if (!prefix.startsWith("/")) throw new Error(`mount prefix ${JSON.stringify(prefix)} must start with "/"`);
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const mounts = new Map<string, Mount>();
  const mount = (prefix: string, dir: string | Mount | null) => {
    if (dir === null) mounts.delete(normalPrefix(prefix));
    else mounts.set(normalPrefix(prefix), typeof dir === "string" ? { dir: resolve(dir) } : { ...dir, dir: resolve(dir.dir) });
  };
  for (const [prefix, dir] of Object.entries(options.mounts)) mount(prefix, dir);
  const isolation = options.isolate === false ? {} : ISOLATION_HEADERS;

  /**
   * The file a URL path names, or null: inside its mount's folder only (no `..` out of it, no symlink leading out of
   * it), a folder's index.html, and only the files the mount allows.
   */
  function fileOf(path: string): string | null {
    let best: string | null = null;
    for (const prefix of mounts.keys()) if ((path.startsWith(prefix) || `${path}/` === prefix) && (best === null || prefix.length > best.length)) best = prefix;
    if (best === null) return null;
    const { dir: root, files } = mounts.get(best)!;
    let file = resolve(root, `.${sep}${path.slice(best.length)}`);
    if (!inside(file, root) || !existsSync(file)) return null;
    const stat = statSync(file);
    if (stat.isDirectory() && existsSync(join(file, "index.html"))) file = join(file, "index.html");
    else if (!stat.isFile()) return null;
    if (files !== undefined && !files(relative(root, file).split(sep).join("/"))) return null;
    try {
      return inside(realpathSync(file), realpathSync(root)) && statSync(file).isFile() ? file : null;
    } catch {
      return null; // gone meanwhile
    }
  }

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...isolation, "content-type": "text/plain; charset=utf-8", ...headers });
      res.end(req.method === "HEAD" ? undefined : `${text}\n`);
    };
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      return send(400, "bad request: the path is not valid percent-encoding");
    }
    options.onRequest?.(req.method ?? "GET", path);
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed", { allow: "GET, HEAD" });
    if (path.includes("\0")) return send(400, "bad request");
    const redirect = options.redirects?.[path];
    if (redirect !== undefined) return send(302, "found", { location: redirect });
    // A folder asked for without its slash: redirect, so the page's relative URLs resolve inside it.
    if (!path.endsWith("/") && [...mounts.keys()].some((prefix) => prefix === `${path}/`)) return send(301, "moved", { location: `${path}/` });
    const file = fileOf(path);
    if (file === null) return send(404, `not found: ${path}`);
    if (!path.endsWith("/") && file.endsWith(`${sep}index.html`) && !path.endsWith("index.html")) return send(301, "moved", { location: `${path}/` });
    const size = statSync(file).size;
    res.writeHead(200, {
      ...isolation,
      "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": String(size),
      // Revalidate every time: a re-converted model at the same URL must not come from the HTTP cache (the
      // page's Cache API copy is keyed by the manifest's digests, src/web/fetchSource.ts).
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  }

  const sockets = new Set<Socket>();
  const server = createServer(answer);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    mount,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** The paths of a model directory the browser loader reads (src/weights/openModel.ts): manifest.json, the files it
 *  lists and its adapters' (read from the manifest at each call, so a re-converted model is served whole), and the
 *  tokenizer files that directories written before the manifest listed them have. */
function modelFiles(model: string): (path: string) => boolean {
  return (path) => {
    if ([MANIFEST_FILE, CONFIG_FILE, VOCAB_FILE, TOKENIZER_CONFIG_FILE].includes(path)) return true;
    let manifest: { files?: unknown; adapters?: unknown };
    try {
      manifest = JSON.parse(readRegularFile(join(model, MANIFEST_FILE), "BAD_CHECKPOINT").toString("utf8")) as typeof manifest;
    } catch {
      return false;
    }
    if (isObject(manifest.files) && Object.hasOwn(manifest.files, path)) return true;
    return isObject(manifest.adapters) && Object.values(manifest.adapters).some((a) => isObject(a) && (a.config === path || a.weights === path));
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The package's dist/web: this file runs from src/cli (a checkout's tests) or from dist/src/cli (the build), so the
 *  package root is two or three folders up: the first one up whose package.json is ours. */
export function distWebDir(): string {
  for (const up of ["../..", "../../.."]) {
    const root = resolve(__dirname, up);
    try {
      if ((JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: unknown }).name === "specter2-tfjs") return join(root, "dist", "web");
    } catch {
      // not there: try the next one up
    }
  }
  throw new Error(`specter2-tfjs: its package.json was not found above ${__dirname}`);
}

export interface WebDemoOptions {
  /** The model directory, served at /model/. */
  model: string;
  host?: string;
  port?: number;
  /** dist/web (default: the package's). */
  distWeb?: string;
}

/** `specter2 web`: dist/web at /, its demo page at /demo/, the model directory's files at /model/. */
export async function startWebDemo(options: WebDemoOptions): Promise<StaticServer & { demoUrl: string }> {
  const distWeb = options.distWeb ?? distWebDir();
  for (const needed of ["specter2.js", "specter2.worker.js", join("demo", "index.html")]) {
    if (!existsSync(join(distWeb, needed))) {
      throw new Error(`${join(distWeb, needed)} is missing: build the browser bundle first with \`npm run build:web\` (in the specter2-tfjs checkout)`);
    }
  }
  const model = resolve(options.model);
  if (!existsSync(join(model, MANIFEST_FILE))) {
    throw new Specter2Error("MODEL_NOT_FOUND", `${model}: no ${MANIFEST_FILE} there; give a model directory from \`specter2 convert\` or \`specter2 download\``, { file: model });
  }
  const server = await startStaticServer({
    mounts: { "/": distWeb, "/model/": { dir: model, files: modelFiles(model) } },
    redirects: { "/": "/demo/" },
    host: options.host,
    port: options.port,
  });
  return { ...server, demoUrl: `${server.url}/demo/` };
}
