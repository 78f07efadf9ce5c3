import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '@torgovo/core';
import type { OrderRowStatus } from '../entities/order.entity';

export const ORDER_STATUSES: readonly OrderRowStatus[] = ['pending', 'submitting', 'open', 'filled', 'canceled', 'rejected', 'failed'];

/** `?bot_id&status&symbol&page&limit`; the symbol is unified ("BTC/USDT"), "BTC-USDT" is accepted too. */
export class ListOrdersQuery extends PageQuery {
  @IsOptional() @IsUUID()
  bot_id?: string;

  @IsOptional() @IsIn(ORDER_STATUSES)
  status?: OrderRowStatus;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase().replace('-', '/') : value))
  @Matches(/^[A-Z0-9]+\/[A-Z0-9]+$/, { message: 'symbol must look like BTC/USDT' })
  symbol?: string;
}
