import { ApiExtension } from '@nestjs/swagger';

/** Extension keys the document builder (apps/api/src/openapi-document.ts) reads, then removes or keeps. */
export const X_ERRORS = 'x-errors';
export const X_PUBLIC = 'x-public';
export const X_ADMIN_ONLY = 'x-admin-only';

export type ErrorCodesByStatus = Partial<Record<number, readonly string[]>>;

/**
 * The error codes this operation answers, per status, besides the ones every operation of its
 * kind answers (401 for authenticated, 400 validation_failed for inputs, 500, …: added by the
 * document builder). The e2e suite fails on any error response whose status or code is not listed.
 * One per method (swagger keeps the first value of an extension key).
 */
export function ApiErrors(errors: ErrorCodesByStatus): MethodDecorator {
  return ApiExtension(X_ERRORS, errors);
}
