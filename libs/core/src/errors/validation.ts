import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ErrorDetail } from './domain-error';

function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      out.push({ field, message: Object.values(e.constraints).join('; ') });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

const MAX_DEPTH = 32;

/**
 * Refused before class-transformer sees the value: nesting deeper than MAX_DEPTH (its recursion
 * would overflow the stack: a 500) and strings with NUL characters (PostgreSQL text refuses them:
 * a 500 whose error carries the statement's parameters). Walked with an explicit stack.
 */
export function shapeProblems(value: unknown): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < 20) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) problems.push({ field: path || 'body', message: 'must not contain NUL characters' });
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) {
        problems.push({ field: path || 'body', message: `is nested deeper than ${MAX_DEPTH} levels` });
        continue;
      }
      for (const [k, child] of Object.entries(v)) stack.push({ v: child, path: path ? `${path}.${k}` : k, depth: depth + 1 });
    }
  }
  return problems;
}

class ShapeCheckingValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (this.toValidate(metadata)) {
      // A JSON null, array, string or number where an object is expected would otherwise become
      // an empty DTO (a PATCH with null would "succeed" as an empty update). An absent body stays
      // allowed: endpoints whose fields are all optional accept none.
      if (metadata.type === 'body' && value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        throw new BadRequestException({ code: 'validation_failed', message: 'Request body must be a JSON object', details: [{ field: 'body', message: 'must be a JSON object' }] });
      }
      const details = shapeProblems(value);
      if (details.length > 0) throw new BadRequestException({ code: 'validation_failed', message: 'Validation failed', details });
    }
    return super.transform(value, metadata);
  }
}

/** whitelist + forbidNonWhitelisted: unknown fields are a 400, one `details` entry per field. */
export function createValidationPipe(): ValidationPipe {
  return new ShapeCheckingValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) =>
      new BadRequestException({ code: 'validation_failed', message: 'Validation failed', details: flatten(errors) }),
  });
}
