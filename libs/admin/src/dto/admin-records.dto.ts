import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '@torgovo/core';
import { PAYMENT_KINDS, PAYMENT_PROVIDERS, PAYMENT_STATUSES, PaymentResponse } from '@torgovo/payments';
import type { PaymentKind, PaymentProvider, PaymentStatus } from '@torgovo/payments';
import { PLAN_TYPES } from '@torgovo/plans';
import type { PlanType } from '@torgovo/plans';
import { PAYMENT_METHODS, SUBSCRIPTION_STATUSES, SubscriptionResponse } from '@torgovo/subscriptions';
import type { PaymentMethod, SubscriptionStatus } from '@torgovo/subscriptions';
import { ListOrdersQuery, OrderResponse } from '@torgovo/trading';
import type { OrderMode } from '@torgovo/trading';

const ISO = { strict: true, strictSeparator: true };
const FROM = 'created at or after (ISO 8601 time)';
const TO = 'created before (ISO 8601 time)';

/** Every admin list: pages, newest first; `from`/`to` bound created_at. */
class AdminListQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID()
  user_id?: string;

  @ApiPropertyOptional({ format: 'date-time', description: FROM })
  @IsOptional() @IsISO8601(ISO)
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: TO })
  @IsOptional() @IsISO8601(ISO)
  to?: string;
}

export class AuditLogsQuery extends AdminListQuery {
  @ApiPropertyOptional({ example: 'user.deactivated' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(64) @Matches(/^[a-z0-9_.]+$/, { message: 'event_type is lower-case words joined by dots' })
  event_type?: string;
}

export class AdminSubscriptionsQuery extends AdminListQuery {
  @ApiPropertyOptional({ enum: SUBSCRIPTION_STATUSES })
  @IsOptional() @IsIn(SUBSCRIPTION_STATUSES)
  status?: SubscriptionStatus;

  @ApiPropertyOptional({ description: 'plan code (e.g. pro)' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(64)
  plan?: string;

  @ApiPropertyOptional({ enum: PLAN_TYPES })
  @IsOptional() @IsIn(PLAN_TYPES)
  plan_type?: PlanType;

  @ApiPropertyOptional({ enum: PAYMENT_METHODS })
  @IsOptional() @IsIn(PAYMENT_METHODS)
  payment_method?: PaymentMethod;
}

export class AdminPaymentsQuery extends AdminListQuery {
  @ApiPropertyOptional({ enum: PAYMENT_STATUSES })
  @IsOptional() @IsIn(PAYMENT_STATUSES)
  status?: PaymentStatus;

  @ApiPropertyOptional({ enum: PAYMENT_PROVIDERS })
  @IsOptional() @IsIn(PAYMENT_PROVIDERS)
  provider?: PaymentProvider;

  @ApiPropertyOptional({ enum: PAYMENT_KINDS })
  @IsOptional() @IsIn(PAYMENT_KINDS)
  kind?: PaymentKind;

  @ApiPropertyOptional({ description: 'plan code (e.g. pro)' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(64)
  plan?: string;
}

/** The user's own filters (bot_id, status, symbol) plus user_id, mode and a created_at range. */
export class AdminOrdersQuery extends ListOrdersQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID()
  user_id?: string;

  @ApiPropertyOptional({ enum: ['paper', 'live'] })
  @IsOptional() @IsIn(['paper', 'live'])
  mode?: OrderMode;

  @ApiPropertyOptional({ format: 'date-time', description: FROM })
  @IsOptional() @IsISO8601(ISO)
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: TO })
  @IsOptional() @IsISO8601(ISO)
  to?: string;
}

/** The envelope of every admin list. */
abstract class AdminPage {
  @ApiProperty({ type: 'integer', description: 'matching rows, counted up to 10000' }) total: number;
  @ApiProperty({ description: 'more than 10000 rows match: total is 10000 and only the first 10000 can be paged through; narrow the filters' })
  total_capped: boolean;
  @ApiProperty({ type: 'integer' }) page: number;
  @ApiProperty({ type: 'integer' }) limit: number;
}

export class AuditLogResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() event_type: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) user_id: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'who acted; null = the system or a provider' }) actor_id: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the event’s details (secrets redacted when written)' }) data: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty({ type: String, nullable: true }) user_agent: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class AuditLogPage extends AdminPage {
  @ApiProperty({ type: [AuditLogResponse] }) items: AuditLogResponse[];
}

export class AdminSubscriptionPage extends AdminPage {
  @ApiProperty({ type: [SubscriptionResponse], description: 'as GET /subscriptions' }) items: SubscriptionResponse[];
}

export class AdminPaymentPage extends AdminPage {
  @ApiProperty({ type: [PaymentResponse], description: 'as GET /payments/history' }) items: PaymentResponse[];
}

export class AdminOrderPage extends AdminPage {
  @ApiProperty({ type: [OrderResponse], description: 'as GET /orders' }) items: OrderResponse[];
}
