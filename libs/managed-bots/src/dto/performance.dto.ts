import type { ProfitShareSettlementResponse } from './follow.dto';

export class MonthlyReturn {
  /** YYYY-MM in APP_TIMEZONE. */
  month: string;
  /** Percent, decimal string: the change of net PnL in the month against the equity it started with. */
  return_pct: string;
  /** The plan's guaranteed monthly return (percent) when followed; null: none. */
  guaranteed_pct: string | null;
  /** max(0, guaranteed − return), percent; null without a guarantee. */
  shortfall_pct: string | null;
  /** false: the month so far (not settled yet). */
  settled: boolean;
}

export class FollowerPerformanceResponse {
  managed_bot_id: string;
  follow_id: string;
  status: 'active' | 'ended';
  mode: 'paper' | 'live';
  /** Decimal strings in the quote currency (USDT). */
  initial_investment: string;
  investment: string;
  /** investment + net_pnl, positions marked to the last fill price. */
  current_balance: string;
  /** Σ PnL of winning closed trades (FIFO, fees included). */
  total_profit: string;
  /** Σ |PnL| of losing closed trades. */
  total_loss: string;
  /** Realised + unrealised, fees included. */
  net_pnl: string;
  trades: number;
  win_rate: string | null;
  profit_share_percentage: string;
  /** What a settlement now would charge: rate × max(0, current_balance − high_water_mark). */
  profit_share_accrued: string;
  /** Σ of the settlements' charges so far. */
  profit_share_paid: string;
  high_water_mark: string;
  monthly_returns: MonthlyReturn[];
  last_calculated: Date | null;
}

export class FollowerTradeResponse {
  signal_id: string;
  action: string;
  symbol: string;
  signal_at: Date;
  order_id: string | null;
  status: string | null;
  side: string | null;
  /** Decimal strings. */
  lead_price: string | null;
  fill_price: string | null;
  filled: string | null;
  cost: string | null;
  /** Signed, percent: positive when the follower paid more (buy) or got less (sell) than the lead. */
  slippage_pct: string | null;
  /** From the signal to the fill, milliseconds. */
  delay_ms: number | null;
  fee: string | null;
  fee_currency: string | null;
  /**
   * The part of the settlements' profit share taken on this trade (USD, to the cent): each settlement
   * is split over the follow's trades that realised a profit in its period, pro rata to that profit,
   * rounded down to the cent with the remainder on the period's last such trade; a gain that was only
   * unrealised is put on the period's last filled order. Σ over the items = Σ of `settlements`' owed
   * (= profit_share_paid of GET /managed-bot/performance). "0.00" for a fill with none; null when not filled.
   */
  profit_share: string | null;
  /** Why no fill: the order's reason (slippage_exceeded, follow_ended, …), or not_copied when no order was written. */
  skipped_reason: string | null;
}

export class TruthReportTotals {
  /** Orders of this follow with a fill. */
  fills: number;
  /** Σ filled × fill price; Σ fees in the quote currency; net PnL: the same figures as GET /managed-bot/performance. */
  volume: string;
  fees: string;
  net_pnl: string;
  profit_share_paid: string;
}

export class FollowerTradesResponse {
  managed_bot_id: string;
  follow_id: string;
  items: FollowerTradeResponse[];
  settlements: ProfitShareSettlementResponse[];
  totals: TruthReportTotals;
}
