import { ValidateIf, ValidationOptions } from 'class-validator';

/**
 * An optional request field: absent (undefined) skips its checks; a JSON null does not — it is
 * checked like any value, so `@IsOptional() @IsString()` refuses null with a 400. class-validator's
 * own IsOptional skips null too, and the services read "given" as `!== undefined`: a null reached
 * `.trim()`, `new Decimal(null)` or a NOT NULL column (500s), and PATCH /subscriptions/{id} with
 * `{"auto_renew": null}` told Stripe to stop renewing before its 500. A field that takes null
 * (null = "unlimited", "none") adds `@ValidateIf((_, v) => v !== null)` or uses IsOptionalOrNull.
 * Use this one in request DTOs (lint: no-restricted-imports).
 */
export function IsOptional(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: unknown, value: unknown) => value !== undefined, options);
}

/** An optional field that also takes null (class-validator's IsOptional): say why null is meaningful where it is used. */
export function IsOptionalOrNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: unknown, value: unknown) => value !== undefined && value !== null, options);
}
