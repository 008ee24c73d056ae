// The service's connections: how long a client may take to send its request, how many connections are
// open at once, errors Node's HTTP parser raises (rendered in the route's API style, not Fastify's), and
// a shutdown that answers the requests already accepted and closes every other connection at once.
import { STATUS_CODES, type Server } from "node:http";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyReply, FastifyRequest, FastifyServerOptions, preParsingHookHandler } from "fastify";
import { ApiError, errorBody } from "./errors";

export interface ConnectionLimits {
  /** Request line and headers must arrive within this of the first byte (or of the connection). */
  headersTimeoutMs: number;
  /** A request body must arrive whole within this of its headers; else 408 and the connection closes. */
  bodyTimeoutMs: number;
  /** Open connections at once; further ones are closed as soon as they are accepted. */
  maxConnections: number;
  /** On close, how long accepted requests may take to be answered before every connection is closed. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 1024,
  shutdownTimeoutMs: 30_000,
};

/** Methods whose requests Fastify never reads a body of. */
const BODYLESS = new Set(["GET", "HEAD", "OPTIONS", "DELETE", "TRACE"]);

/** Fastify's constructor options for these limits. */
export function serverOptions(limits: ConnectionLimits): Pick<FastifyServerOptions, "requestTimeout" | "return503OnClosing"> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  // Node's own deadline for a whole request is only a backstop: the body deadline (bodyDeadline below)
  // answers first, with the route's error style. Node checks its deadlines every
  // connectionsCheckingInterval (30 s by default), far too coarse for a 10 s headers timeout.
  const requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs + 1000;
  return {
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    requestTimeout,
    // While draining, requests on connections still open get our 503 (server.ts), in the route's style.
    return503OnClosing: false,
  };
}

/**
 * preParsing hook: the body must arrive whole within `ms` of the headers. A body that stalls or trickles
 * gets 408 once the deadline passes, and the connection is closed (the rest of the body is not read).
 */
export function bodyDeadline(ms: number): preParsingHookHandler {
  return async (request, reply, payload) => {
    if (BODYLESS.has(request.method)) return payload;
    const guarded = new PassThrough();
    const timer = setTimeout(() => {
      payload.unpipe(guarded);
      guarded.destroy(new ApiError(408, `the request body did not arrive within ${ms / 1000} s (--body-timeout)`, "body_timeout", { connection: "close" }));
    }, ms);
    const done = () => clearTimeout(timer);
    payload.once("end", done);
    payload.once("error", done);
    reply.raw.once("close", done);
    payload.pipe(guarded);
    return guarded;
  };
}

/** The route family of a request Node's parser refused: from the request line if it came with the error. */
function urlOf(rawPacket: unknown, known: string | undefined): string {
  if (known !== undefined) return known;
  if (!Buffer.isBuffer(rawPacket)) return "";
  return /^[A-Z]+ (\S+)/.exec(rawPacket.subarray(0, 64).toString("latin1"))?.[1] ?? "";
}

/**
 * Tracks every connection, which of them carry an accepted request (whole, authenticated: shutdown waits
 * for its answer), and the URL each is working on (for errors raised outside any route).
 */
export class Connections {
  private readonly sockets = new Set<Socket>();
  /** Accepted requests not yet answered, per connection. */
  private readonly busy = new Map<Socket, number>();
  private readonly urls = new WeakMap<Socket, string>();
  private draining = false;

  constructor(
    private readonly server: Server,
    limits: ConnectionLimits,
  ) {
    server.maxConnections = limits.maxConnections;
    server.on("connection", (socket: Socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
      });
    });
  }

  /** onRequest hook: remembers the URL a connection is working on. */
  readonly arrived = async (request: FastifyRequest): Promise<void> => {
    const socket = request.raw.socket as Socket | null;
    if (socket) this.urls.set(socket, request.url);
  };

  /** preValidation hook (the body is in): from now on shutdown waits for the answer. */
  readonly accepted = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const socket = request.raw.socket as Socket | null;
    if (!socket || socket.destroyed) return;
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    reply.raw.once("close", () => {
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (left > 0) this.busy.set(socket, left);
      else this.busy.delete(socket);
    });
  };

  /** Fastify's clientErrorHandler: Node's parser refused a request (headers too large, malformed, too slow). */
  readonly clientError = (error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    let status = 400;
    let message = "malformed HTTP request";
    let code = "bad_request";
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") [status, message, code] = [408, "the request did not arrive in time (--headers-timeout, --body-timeout)", "request_timeout"];
    else if (error.code === "HPE_HEADER_OVERFLOW") [status, message, code] = [431, "the request line and headers are too large (16 KiB at most)", "headers_too_large"];
    const body = JSON.stringify(errorBody(urlOf(error.rawPacket, this.urls.get(socket)), status, message, code));
    // Not into the middle of an answer already under way (Node's own handler takes the same care).
    const answering = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage?.headersSent === true;
    if (socket.writable && !answering) {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    // A client that does not read its answer does not hold the connection.
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  /**
   * Stops accepting connections and closes every open one that carries no accepted request (idle ones,
   * ones with nothing sent yet, with headers or a body still arriving) at once; the others close once
   * answered (server.ts sends `connection: close` while draining), or when `closeAll` is called.
   */
  drain(): void {
    this.draining = true;
    for (const socket of this.sockets) if (!this.busy.has(socket)) socket.destroy();
  }

  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
  }
}
