export interface ErrorDetail {
  field?: string;
  message: string;
}

/**
 * A rule of the domain was broken. Services throw these, never HTTP exceptions;
 * the global filter turns `status` and `code` into the API's error shape.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Codes shared across libs. Libs define their own next to their services. */
export const CommonErrors = {
  notFound: (what: string) => new DomainError('not_found', 404, `${what} not found`),
  validation: (message: string, details: ErrorDetail[] = []) => new DomainError('validation_failed', 400, message, details),
  conflict: (code: string, message: string) => new DomainError(code, 409, message),
  forbidden: (code: string, message: string) => new DomainError(code, 403, message),
  unavailable: (code: string, message: string) => new DomainError(code, 503, message),
} as const;
