// An API error: an HTTP status and a message naming the offending field, sent as OpenAI's error JSON
// ({"error": {"message", "type", "param", "code"}}), the shape OpenAI clients and llama.cpp's server use.
// Handlers throw it; the server turns it into the response, so a bad request never becomes a crash.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault, or null. */
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** OpenAI's error type for the status. */
  get type(): string {
    if (this.status === 403) return 'permission_error';
    if (this.status === 404) return 'not_found_error';
    if (this.status === 503) return 'unavailable_error';
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
