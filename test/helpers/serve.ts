// A real server on 127.0.0.1 (ephemeral port) around a loaded model, and small JSON request helpers.
import type { ServeOptions } from "../../src/serve/context";
import type { Specter2 } from "../../src/specter2";
import type { Service } from "../../src/serve/server";
import { createService } from "../../src/serve/server";

export const TEST_OPTIONS: ServeOptions = {
  maxLength: 512,
  maxBatchTokens: 4096,
  maxConcurrentRequests: 1000,
  maxClientBatchSize: 32,
  maxBodyBytes: 64 * 1024,
  requestTimeoutMs: 30_000,
  logger: false,
};

export interface Running {
  service: Service;
  url: string;
}

export async function startService(model: Specter2, overrides: Partial<ServeOptions> = {}): Promise<Running> {
  const service = createService(model, { ...TEST_OPTIONS, ...overrides });
  const url = await service.app.listen({ host: "127.0.0.1", port: 0 });
  await service.warmUp();
  return { service, url };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** POSTs `body` (an object as JSON, or a raw string as it is). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
