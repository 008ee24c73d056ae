// The CLI's exit statuses: one table, read by main.ts, the tests and docs/errors.md.
import type { ErrorCode } from "../errors";
import { Specter2Error } from "../errors";

/** A usage mistake: an unknown option or command, a missing required option, a failed option check. */
export const USAGE_EXIT_CODE = 2;

/** Any other failure: an error without a code, or one whose code has no status of its own. */
export const OTHER_EXIT_CODE = 1;

/** The exit status of each error code. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  MODEL_NOT_FOUND: 3,
  BAD_CHECKPOINT: 3,
  UNKNOWN_ADAPTER: 3,
  BAD_INPUT: 4,
  BACKEND_UNAVAILABLE: 5,
  HUB_ERROR: 6,
  OUTPUT_ERROR: 7,
  WORKER_FAILED: OTHER_EXIT_CODE,
  NOT_FINITE: OTHER_EXIT_CODE,
};

/** The exit status for an error that ended a command (not a usage mistake: that is USAGE_EXIT_CODE). */
export function exitCodeOf(error: unknown): number {
  return error instanceof Specter2Error && Object.hasOwn(EXIT_CODES, error.code) ? EXIT_CODES[error.code] : OTHER_EXIT_CODE;
}

/**
 * The exit status for yargs' .fail(message, error): a command's handler fails with its error and no message
 * (exitCodeOf the error); yargs' own checks (unknown option, missing required option, …) fail with a message
 * and no error, and a .check() that threw with both: those are usage mistakes.
 */
export function failureExitCode(message: string | null | undefined, error: unknown): number {
  return message === null && error !== undefined && error !== null ? exitCodeOf(error) : USAGE_EXIT_CODE;
}
