import type { OrderMode } from '../orders/entities/order.entity';
import type { DailyPnlResponse, PerformanceFiguresResponse, PositionResponse } from './dto/performance.response';
import { emptyPerformance, PerformanceFigures, PositionFigures } from './performance-engine';

/** The figures every performance response shares. */
export function toFiguresResponse(f: PerformanceFigures): PerformanceFiguresResponse {
  const daily: DailyPnlResponse[] = f.daily.map((d) => ({ day: d.day, realised_pnl: d.realised_pnl, volume: d.volume }));
  return {
    mode: f.mode,
    quote_currency: f.quote_currency,
    realised_pnl: f.realised_pnl,
    fees: f.fees,
    volume: f.volume,
    fills: f.fills,
    trades: f.trades,
    wins: f.wins,
    win_rate: f.win_rate,
    max_drawdown: f.max_drawdown,
    daily,
  };
}

export function toPositionResponse(p: PositionFigures): PositionResponse {
  return { symbol: p.symbol, amount: p.amount, average_entry: p.average_entry, last_price: p.last_price, unrealised_pnl: p.unrealised_pnl };
}

/** The row of `mode` among a group's rows, or the empty figures when that mode has no fill. */
export function figuresOf(rows: PerformanceFigures[], group: string, mode: OrderMode): PerformanceFigures {
  return rows.find((r) => r.group === group && r.mode === mode) ?? emptyPerformance(group, mode);
}
