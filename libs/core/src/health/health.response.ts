import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';

const indicators: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'object', properties: { status: { type: 'string', enum: ['up', 'down'] } }, required: ['status'], additionalProperties: true },
};

/** @nestjs/terminus's result: `database` (up/down) and `worker` (alive count, last beat age). */
export class HealthResponse {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status: string;

  @ApiPropertyOptional(indicators)
  info?: Record<string, unknown>;

  @ApiPropertyOptional(indicators)
  error?: Record<string, unknown>;

  @ApiProperty(indicators)
  details: Record<string, unknown>;
}
