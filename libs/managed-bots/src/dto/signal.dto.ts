import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { IsOptional } from '@torgovo/core';

export const SIGNAL_ACTIONS = ['buy', 'sell', 'close'] as const;
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

export class ManagedSignalDto {
  @ApiProperty({ enum: SIGNAL_ACTIONS, description: 'buy: spend fraction × investment; sell: sell fraction of the position; close: sell all of it' })
  @IsIn(SIGNAL_ACTIONS)
  action: SignalAction;

  @ApiProperty({ example: 'BTC/USDT' })
  @IsString() @Length(2, 48)
  symbol: string;

  @ApiProperty({ example: '0.25', description: 'decimal string in (0, 1]: the share of each follower\'s investment (buy) or position (sell)' })
  @IsString() @Matches(/^(0?\.\d{1,18}|1(\.0{1,18})?)$/, { message: 'fraction must be a decimal string in (0, 1]' })
  fraction: string;

  @ApiPropertyOptional({ example: '65000', description: "the lead's price: followers' slippage is measured against it; required when the bot has paper followers" })
  @IsOptional() @IsString() @Matches(/^(?!0+(\.0+)?$)\d{1,13}(\.\d{1,18})?$/, { message: 'price must be a positive decimal string' })
  price?: string;

  @ApiPropertyOptional({
    example: '2026-11-25T10:00:00Z-42',
    description:
      'idempotency key: a repeated signal_id creates nothing, however late. Without one, the same content (action, symbol, fraction, price) is a repeat only within MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS (default 30) of the accepted signal; after that it is a new signal',
  })
  @IsOptional() @IsString() @Length(1, 128)
  signal_id?: string;
}

export class SignalAcceptedResponse {
  /** The stored signal_id: the one sent, or for a signal sent without one `h:<content hash>:<uuid>`; a repeat answers the first signal's. */
  signal_id: string;
  /** Orders written for the active followers by this signal (0 for a repeat). */
  orders_created: number;
  /** true: a repeat (the same signal_id, or the same content within the window); nothing was created. */
  duplicate: boolean;
}
