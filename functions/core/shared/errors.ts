/**
 * Named errors of the domain and the single mapping from error to HTTP problem (RFC 9457). Anything not named
 * here is an internal error: logged, answered with a generic 500, and never echoed to the caller.
 */

export interface FieldIssue {
  /** JSON-pointer-like path of the failing field, e.g. `headers.X-Tenant` or `body`. */
  readonly field: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
}

export class ValidationError extends DomainError {
  readonly status: number = 400;
  readonly title: string = "Invalid request";
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[]) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "));
    this.name = "ValidationError";
    this.issues = issues;
  }

  static fromZod(
    error: {
      readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
    },
    prefix = "",
  ): ValidationError {
    return new ValidationError(
      error.issues.map((issue) => ({
        field:
          [prefix, ...issue.path.map(String)].filter((part) => part !== "").join(".") || prefix || "body",
        message: issue.message,
      })),
    );
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = "Not found";
  constructor(what: string) {
    super(`${what} was not found`);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = "Conflict";
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/** A tenant already has as many webhooks as the stack allows (`maxWebhooksPerTenant`). */
export class WebhookLimitError extends ConflictError {
  readonly limit: number;
  constructor(limit: number) {
    super(`the tenant already has ${limit} webhooks, the most allowed (maxWebhooksPerTenant)`);
    this.name = "WebhookLimitError";
    this.limit = limit;
  }
}

export class PreconditionFailedError extends DomainError {
  readonly status = 412;
  readonly title = "Precondition failed";
  constructor(message: string) {
    super(message);
    this.name = "PreconditionFailedError";
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly title = "Payload too large";
  constructor(limitBytes: number, what = "the event") {
    super(`${what} is larger than ${limitBytes} bytes`);
    this.name = "PayloadTooLargeError";
  }
}

/** A request well formed but refused by a rule of the platform (e.g. strict event types); names the fields. */
export class UnprocessableError extends ValidationError {
  override readonly status: number = 422;
  override readonly title: string = "Unprocessable request";
  constructor(issues: readonly FieldIssue[]) {
    super(issues);
    this.name = "UnprocessableError";
  }
}

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldIssue[];
}

/** The one mapping from an error to the problem document the API answers with. */
export function toProblem(error: unknown): ProblemDocument {
  if (error instanceof DomainError) {
    return {
      type: "about:blank",
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error instanceof ValidationError ? { errors: error.issues } : {}),
    };
  }
  return {
    type: "about:blank",
    title: "Internal error",
    status: 500,
    detail: "The request could not be completed.",
  };
}
