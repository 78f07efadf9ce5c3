import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { SIGNAL_ACTIONS } from '../tradingview-signal';

const decimal: ApiPropertyOptions = { oneOf: [{ type: 'string' }, { type: 'number' }] };

/**
 * The receive endpoint's body, for the OpenAPI document only: the endpoint reads the raw bytes
 * (TradingView sends text/plain unless the message is strict JSON) and tradingview-signal.ts
 * parses them. A field left as an unreplaced {{placeholder}} counts as absent.
 */
export class TradingViewAlertDto {
  @ApiProperty({ enum: SIGNAL_ACTIONS, description: 'buy/long → buy; sell/short → sell (spot); close/exit → sell the whole position' })
  action: string;

  @ApiProperty({ example: 'BTCUSDT', description: 'BTCUSDT, OKX:BTCUSDT, BTC-USDT or BTC/USDT; must be the bot\'s pair' })
  ticker: string;

  @ApiPropertyOptional({ ...decimal, example: '65000.5', description: 'The alert price: the paper fill price, the limit price for limit orders' })
  price?: string | number;

  @ApiPropertyOptional({ ...decimal, example: '0.01', description: 'Base amount, or a percent ("50%"); absent → the bot\'s sizing' })
  quantity?: string | number;

  @ApiPropertyOptional({ enum: ['market', 'limit'], description: 'Overrides the bot\'s order type' })
  order_type?: string;

  @ApiPropertyOptional({ ...decimal, description: 'ISO 8601 ({{timenow}}) or epoch ms; older than max_lag_seconds → 422 stale_signal' })
  timestamp?: string | number;

  @ApiPropertyOptional({ maxLength: 128, description: 'A repeat with the same alert_id is a duplicate (200), never a second order' })
  alert_id?: string;

  @ApiPropertyOptional({ description: 'If present it must equal the secret in the URL (else 401 secret_mismatch)' })
  secret?: string;
}
