import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { TradingStatsQuery, TradingStatsResponse } from './admin-stats.dto';

/** GET /admin/trading/stats also takes the latency window (its own: percentiles are not rolled up). */
export class TradingStatsLatencyQuery extends TradingStatsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 168, default: 24, description: 'latency percentiles over orders received in the last N hours' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(168)
  latency_hours?: number;
}

export class LatencyPercentilesResponse {
  @ApiProperty({ type: 'integer', description: 'orders that have both timestamps of this span' }) samples: number;
  @ApiProperty({ type: 'integer', nullable: true }) p50_ms: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) p95_ms: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) p99_ms: number | null;
}

export class OrderLatencyResponse {
  @ApiProperty({ description: 'orders received from (ISO time)' }) from: string;
  @ApiProperty() to: string;
  @ApiProperty({ type: 'integer' }) window_hours: number;
  @ApiProperty({ type: LatencyPercentilesResponse, description: 'alert accepted → sent to the exchange' }) received_to_sent: LatencyPercentilesResponse;
  @ApiProperty({ type: LatencyPercentilesResponse, description: "sent → the exchange's answer recorded" }) sent_to_acknowledged: LatencyPercentilesResponse;
  @ApiProperty({ type: LatencyPercentilesResponse, description: 'alert accepted → filled' }) received_to_filled: LatencyPercentilesResponse;
}

export class TradingStatsLatencyResponse extends TradingStatsResponse {
  @ApiProperty({ type: OrderLatencyResponse, description: "the platform's order latency by percentile (`mode` applies)" }) latency: OrderLatencyResponse;
}
