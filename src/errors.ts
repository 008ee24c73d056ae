// The errors a caller can catch and tell apart by `code`, with what they concern in fields (not only in
// the message). The CLI maps each code to an exit code (docs/errors.md).

export const ERROR_CODES = [
  /** A model directory, file or Hub repository that is not there. */
  "MODEL_NOT_FOUND",
  /** A checkpoint, safetensors file, config or manifest that cannot be read as one, or fails its checks. */
  "BAD_CHECKPOINT",
  /** An adapter name that the model does not have. */
  "UNKNOWN_ADAPTER",
  /** An input record, text, option value or request that cannot be embedded as given. */
  "BAD_INPUT",
  /** A tfjs backend that cannot be initialised here. */
  "BACKEND_UNAVAILABLE",
  /** A download or Hub request that failed. */
  "HUB_ERROR",
  /** Output files or sharded parts that cannot be written, resumed or merged as asked. */
  "OUTPUT_ERROR",
  /** A worker thread that could not load the model or died more often than its batch may be retried. */
  "WORKER_FAILED",
  /** A computed value that is NaN or infinite. */
  "NOT_FINITE",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What an error concerns, where known: the file (and line), URL, tensor, adapter, field or input. */
export interface ErrorDetails {
  file?: string;
  line?: number;
  url?: string;
  tensor?: string;
  adapter?: string;
  field?: string;
  /** The position of the input in the call's list. */
  input?: number;
}

export class Specter2Error extends Error implements ErrorDetails {
  readonly file?: string;
  readonly line?: number;
  readonly url?: string;
  readonly tensor?: string;
  readonly adapter?: string;
  readonly field?: string;
  readonly input?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "Specter2Error";
    Object.assign(this, details);
  }

  /** The details as a plain object, to send across a worker boundary or log. */
  details(): ErrorDetails {
    const { file, line, url, tensor, adapter, field, input } = this;
    return Object.fromEntries(Object.entries({ file, line, url, tensor, adapter, field, input }).filter(([, v]) => v !== undefined));
  }
}

/** A failed file operation's reason, for a message: its errno code (ENOENT) where it has one, else the
 *  error as text (an Error's "Name: message", any other object as JSON, never "[object Object]"). */
export function errnoOrText(e: unknown): string {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  if (typeof code === "string") return code;
  if (e instanceof Error || typeof e !== "object" || e === null) return String(e);
  try {
    return JSON.stringify(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}

export function isSpecter2Error(e: unknown, code?: ErrorCode): e is Specter2Error {
  return e instanceof Specter2Error && (code === undefined || e.code === code);
}
