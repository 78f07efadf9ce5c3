import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
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

/** whitelist + forbidNonWhitelisted: unknown fields are a 400, one `details` entry per field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) =>
      new BadRequestException({ code: 'validation_failed', message: 'Validation failed', details: flatten(errors) }),
  });
}
