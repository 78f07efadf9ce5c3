import { ApiProperty } from '@nestjs/swagger';

export class PnlDayResponse {
  @ApiProperty({ example: '2026-11-25' }) day: string;
  @ApiProperty({ example: '-12.5', description: 'realised PnL (FIFO, fees included) of the trades closed this day, on symbols quoted in a USD stablecoin' })
  realised_pnl_usd: string;
}

export class TradingPnlResponse {
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'date-time',
    description: 'when the worker last computed the figures (they count the fills up to then; recomputed every PNL_ROLLUP_INTERVAL_SECONDS); null: not computed yet',
  })
  computed_at: string | null;
  @ApiProperty({ type: [PnlDayResponse], description: 'every day of the range, zeros included' }) by_day: PnlDayResponse[];
}
