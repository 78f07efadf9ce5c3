import type { OrderMode } from '../../orders/entities/order.entity';

/** API.md "Custom bots": every amount a decimal string in the quote currency. */
export class PositionResponse {
  symbol: string;
  /** Base held: negative after selling beyond the bot's own position (a short, closed first by later buys). */
  amount: string;
  /** Cost per unit of what is held, fees included (a short: proceeds per unit); null when flat. */
  average_entry: string | null;
  /** Price of the last fill on this symbol; null before any fill. */
  last_price: string | null;
  /** amount × (last_price − average_entry). */
  unrealised_pnl: string;
}

export class DailyPnlResponse {
  /** Calendar day (YYYY-MM-DD) in APP_TIMEZONE. */
  day: string;
  /** PnL of the trades that closed that day, fees included. */
  realised_pnl: string;
  /** Σ filled × price of the fills that day. */
  volume: string;
}

export class PerformanceFiguresResponse {
  /** Whose fills are counted: paper and live are never mixed. */
  mode: OrderMode;
  /** Null when the fills are in several quote currencies (the sums then add them as they are). */
  quote_currency: string | null;
  /** FIFO, fees included. */
  realised_pnl: string;
  fees: string;
  /** Σ filled × price of every fill. */
  volume: string;
  /** Orders with a fill (partly filled ones included). */
  fills: number;
  /** Fills that closed a position, wholly or partly. */
  trades: number;
  /** Trades with a positive PnL. */
  wins: number;
  /** wins / trades, from 0 to 1; null before the first trade. */
  win_rate: string | null;
  /** Largest fall of cumulative realised PnL from its running peak (≥ 0). */
  max_drawdown: string;
  daily: DailyPnlResponse[];
}

export class BookPositionResponse extends PositionResponse {
  /** The custom bot holding it, or null for a followed managed bot. */
  bot_id: string | null;
  /** The followed managed bot holding it, or null for a custom bot. */
  managed_bot_id: string | null;
}

export class BookPerformanceResponse {
  bot_id: string | null;
  managed_bot_id: string | null;
  realised_pnl: string;
  unrealised_pnl: string;
  fees: string;
  trades: number;
  win_rate: string | null;
}

export class AccountPositionResponse {
  /** Σ unrealised PnL of every open position. */
  unrealised_pnl: string;
}

export class AccountPerformanceResponse extends PerformanceFiguresResponse {
  position: AccountPositionResponse;
  /** Open positions per bot (or followed managed bot) and symbol. */
  positions: BookPositionResponse[];
  /** The figures of each bot and followed managed bot that has a fill in this mode. */
  books: BookPerformanceResponse[];
}
