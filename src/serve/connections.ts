// The service's connections: how long a client may take to send its request, how many connections are
// open at once (idle ones give their slots up to new ones), errors Node's HTTP parser raises (rendered in the
// route's API style, not Fastify's), and a shutdown that answers every request already read and closes every
// other connection at once.
import { type IncomingMessage, STATUS_CODES, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyRequest, FastifyServerOptions, preParsingHookHandler } from "fastify";
import { ApiError, errorBody } from "./errors";

export interface ConnectionLimits {
  /** Request line and headers must arrive within this of the first byte (or of the connection). */
  headersTimeoutMs: number;
  /** A request body must arrive whole within this of its headers; else 408 and the connection closes. */
  bodyTimeoutMs: number;
  /** Open connections at once; a further one takes the slot of the connection idle longest, or is closed at once. */
  maxConnections: number;
  /** On close, how long the requests already read may take to be answered before every connection is closed. */
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

/** What the service knows of one open connection. */
interface Slot {
  /** Requests whose headers are in and whose answer is not yet sent: several when the client pipelines. Those
   *  read whole (`complete`) are answered on shutdown. */
  requests: Set<IncomingMessage>;
  /** A request on it carried the API key. */
  authenticated: boolean;
}

/**
 * Every open connection and what it carries: the requests under way (a connection without any is idle; shutdown
 * answers those read whole), whether it authenticated, and the URL it is working on (for errors raised outside
 * any route). It keeps `maxConnections` itself, so that idle connections cannot hold the slots: when a
 * connection comes and every slot is taken, the connection idle longest gives its slot up (one that never
 * authenticated before any that did); only when none is idle is the new one closed.
 */
export class Connections {
  private readonly open = new Map<Socket, Slot>();
  /** Idle connections that never authenticated, then those that did, each longest idle first (Sets keep insertion order). */
  private readonly idle = { anonymous: new Set<Socket>(), authenticated: new Set<Socket>() };
  private readonly urls = new WeakMap<Socket, string>();
  private draining = false;

  constructor(
    private readonly server: Server,
    limits: ConnectionLimits,
  ) {
    // Not server.maxConnections: Node closes a new connection at that limit however many of the others sit idle.
    server.on("connection", (socket: Socket) => {
      if (this.draining || (this.open.size >= limits.maxConnections && !this.reclaimIdle())) {
        socket.destroy();
        return;
      }
      this.open.set(socket, { requests: new Set(), authenticated: false });
      this.idle.anonymous.add(socket);
      socket.once("close", () => this.forget(socket));
    });
    // Headers in: the connection is under way until the answer is sent (or it closes).
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      const slot = this.open.get(socket);
      if (!slot) return;
      slot.requests.add(request);
      this.idle.anonymous.delete(socket);
      this.idle.authenticated.delete(socket);
      response.once("close", () => {
        slot.requests.delete(request);
        if (slot.requests.size > 0 || !this.open.has(socket)) return;
        // Draining, a connection closes once every request read on it is answered: with the last answer's
        // `connection: close` (server.ts), or here where that answer was sent before another still computing.
        if (this.draining) socket.end();
        else this.idle[slot.authenticated ? "authenticated" : "anonymous"].add(socket);
      });
    });
  }

  /** onRequest hook: remembers the URL a connection is working on. */
  readonly arrived = async (request: FastifyRequest): Promise<void> => {
    const socket = request.raw.socket as Socket | null;
    if (socket) this.urls.set(socket, request.url);
  };

  /** A request on this connection carried the API key: when idle, it gives its slot up after those that did not. */
  authenticated(request: FastifyRequest): void {
    const slot = this.open.get(request.raw.socket);
    if (slot) slot.authenticated = true;
  }

  /** Whether this is the only request under way on its connection: no other has been read behind it. */
  lastOnItsConnection(request: FastifyRequest): boolean {
    return (this.open.get(request.raw.socket)?.requests.size ?? 0) <= 1;
  }

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
   * Stops accepting connections and closes at once every open one that carries no request read whole (idle
   * ones, ones with nothing sent yet, with headers or a body still arriving); the others close once every
   * request read on them is answered (server.ts sends `connection: close` with the last), or when `closeAll`
   * is called.
   */
  drain(): void {
    this.draining = true;
    for (const [socket, slot] of this.open) if (![...slot.requests].some((r) => r.complete)) socket.destroy();
  }

  closeAll(): void {
    for (const socket of this.open.keys()) socket.destroy();
    this.server.closeAllConnections();
  }

  /** Gives the slot of the connection idle longest (anonymous first) to a new one; false if none is idle. */
  private reclaimIdle(): boolean {
    for (const idle of [this.idle.anonymous, this.idle.authenticated]) {
      const [socket] = idle;
      if (socket) {
        this.forget(socket);
        socket.destroy();
        return true;
      }
    }
    return false;
  }

  private forget(socket: Socket): void {
    this.open.delete(socket);
    this.idle.anonymous.delete(socket);
    this.idle.authenticated.delete(socket);
  }
}
