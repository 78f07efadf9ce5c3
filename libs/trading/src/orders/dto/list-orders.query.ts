import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '@torgovo/core';
import type { OrderRowStatus } from '../entities/order.entity';

export const ORDER_STATUSES: readonly OrderRowStatus[] = ['pending', 'submitting', 'open', 'filled', 'canceled', 'rejected', 'failed'];

/**
 * "OKX:BTC-USDT", "btc_usdt", "BTC/USDT" → "BTC/USDT"; "BTCUSDT" stays compact (matched against the
 * order's symbol without its slash): the forms a bot's symbol and a TradingView ticker accept.
 */
export function normalizeSymbolFilter(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const bare = value.slice(value.lastIndexOf(':') + 1).trim().toUpperCase();
  return bare.replace(/[-_]/, '/');
}

/** `?bot_id&status&symbol&page&limit`. */
export class ListOrdersQuery extends PageQuery {
  @IsOptional() @IsUUID()
  bot_id?: string;

  @IsOptional() @IsIn(ORDER_STATUSES)
  status?: OrderRowStatus;

  /** BTC/USDT, BTC-USDT, BTCUSDT or OKX:BTCUSDT. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @Transform(({ value }: { value: unknown }) => normalizeSymbolFilter(value))
  @Matches(/^[A-Z0-9]+(\/[A-Z0-9]+)?$/, { message: 'symbol must look like BTC/USDT, BTC-USDT, BTCUSDT or OKX:BTCUSDT' })
  symbol?: string;
}
