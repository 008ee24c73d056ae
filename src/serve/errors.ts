// Every failure a client can see: a status, a message and a short code, rendered in the error shape of
// the API family the route belongs to (OpenAI's on /v1/…, text-embeddings-inference's elsewhere).

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** A stable machine-readable code, e.g. "model_not_found". */
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** OpenAI's `type` for a status, as its API and clients use them. */
function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** text-embeddings-inference's `error_type` for a status. */
function teiType(status: number): string {
  if (status === 413) return "Validation";
  if (status === 429) return "Overloaded";
  if (status === 401) return "Unauthorized";
  if (status >= 500) return "Backend";
  return "Validation";
}

export function errorBody(url: string, status: number, message: string, code: string): object {
  if (url.startsWith("/v1/")) return { error: { message, type: openAiType(status), param: null, code } };
  return { error: message, error_type: teiType(status), code };
}
