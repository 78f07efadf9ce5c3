import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { TradingPnlResponse } from './admin-pnl.dto';

/**
 * Years 1970–9999: PostgreSQL has no year 0 (0000-01-01 passed the pattern and the calendar check,
 * then failed the query: a 500), and nothing on the platform is older than 1970.
 */
const YEAR = '(19[7-9]\\d|[2-9]\\d{3})';
const DAY = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$`);
const MONTH = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])$`);
const MODES = ['paper', 'live'] as const;

/** No parameters: any given is a 400 (forbidNonWhitelisted), not silently ignored. */
export class NoQuery {}

/** `?from&to`: calendar days in APP_TIMEZONE, both included; default the last 30 days, at most 366. */
export class DayRangeQuery {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'first day (YYYY-MM-DD, APP_TIMEZONE); default 29 days before `to`' })
  @IsOptional() @Matches(DAY, { message: 'from must be a date YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'last day, included (YYYY-MM-DD, APP_TIMEZONE); default today' })
  @IsOptional() @Matches(DAY, { message: 'to must be a date YYYY-MM-DD' })
  to?: string;
}

export class TradingStatsQuery extends DayRangeQuery {
  @ApiPropertyOptional({ enum: MODES, description: 'only paper or only live orders; default both' })
  @IsOptional() @IsIn(MODES)
  mode?: (typeof MODES)[number];
}

/** `?from&to`: months (YYYY-MM) in APP_TIMEZONE, both included; default the last 12 months, at most 36. */
export class RevenueQuery {
  @ApiPropertyOptional({ example: '2026-01' })
  @IsOptional() @Matches(MONTH, { message: 'from must be a month YYYY-MM' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11' })
  @IsOptional() @Matches(MONTH, { message: 'to must be a month YYYY-MM' })
  to?: string;
}

export class UserTotalsResponse {
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty({ type: 'integer' }) active: number;
  @ApiProperty({ type: 'integer', description: 'active admins' }) admins: number;
  @ApiProperty({ type: 'integer' }) erased: number;
  @ApiProperty({ type: 'integer', description: 'registered since the 1st of this month (APP_TIMEZONE)' }) new_this_month: number;
}

export class BotTotalsResponse {
  @ApiProperty({ type: 'integer' }) running: number;
  @ApiProperty({ type: 'integer' }) stopped: number;
}

export class UsdVolumeResponse {
  @ApiProperty({ example: '125000.5' }) live: string;
  @ApiProperty({ example: '98000' }) paper: string;
}

export class OrderTotalsResponse {
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty({ type: 'integer', description: 'created since midnight (APP_TIMEZONE)' }) today: number;
  @ApiProperty({ type: 'integer', description: 'pending, submitting or open now' }) unfinished: number;
  @ApiProperty({
    type: UsdVolumeResponse,
    description: 'all time: the quote amount traded (cost) by finished orders with a fill whose quote currency is a USD stablecoin (USDT, USDC, USD, DAI, FDUSD, TUSD, USDP, PYUSD, BUSD), per mode',
  })
  volume_usd: UsdVolumeResponse;
}

export class PlanMrrResponse {
  @ApiProperty() plan: string;
  @ApiProperty({ type: 'integer' }) active_subscriptions: number;
  @ApiProperty({ example: '290' }) mrr_usd: string;
}

export class PlanRevenueResponse {
  @ApiProperty({ description: 'plan code, or the payment kind (profit_share) for payments without a plan' }) plan: string;
  @ApiProperty({ type: 'integer' }) payments: number;
  @ApiProperty({ example: '58' }) revenue_usd: string;
}

export class OverviewRevenueResponse {
  @ApiProperty({ description: 'monthly price of active monthly subscriptions + yearly price / 12 of active yearly ones, at current plan prices' })
  mrr_usd: string;
  @ApiProperty({ type: [PlanMrrResponse] }) mrr_by_plan: PlanMrrResponse[];
  @ApiProperty({ description: 'completed payments confirmed this month (APP_TIMEZONE)' }) this_month_usd: string;
  @ApiProperty({ type: [PlanRevenueResponse] }) this_month_by_plan: PlanRevenueResponse[];
}

export class PlanStatusCountResponse {
  @ApiProperty() plan: string;
  @ApiProperty({ enum: ['active', 'cancelled', 'expired', 'trial', 'pending_payment', 'past_due'] }) status: string;
  @ApiProperty({ type: 'integer' }) subscriptions: number;
}

export class AdminOverviewResponse {
  @ApiProperty({ example: 'Asia/Karachi' }) timezone: string;
  @ApiProperty({ type: UserTotalsResponse }) users: UserTotalsResponse;
  @ApiProperty({ type: BotTotalsResponse }) bots: BotTotalsResponse;
  @ApiProperty({ type: OrderTotalsResponse }) orders: OrderTotalsResponse;
  @ApiProperty({ type: OverviewRevenueResponse }) revenue: OverviewRevenueResponse;
  @ApiProperty({ type: [PlanStatusCountResponse], description: 'every plan × status that has subscriptions' }) subscriptions: PlanStatusCountResponse[];
}

export class RegistrationDayResponse {
  @ApiProperty({ example: '2026-11-25' }) day: string;
  @ApiProperty({ type: 'integer' }) registrations: number;
}

export class UserStatsResponse {
  @ApiProperty() timezone: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty({ type: [RegistrationDayResponse] }) by_day: RegistrationDayResponse[];
}

export class OrderDayResponse {
  @ApiProperty({ example: '2026-11-25' }) day: string;
  @ApiProperty({ type: 'integer', description: 'orders that ended this day (closed_at)' }) finished: number;
  @ApiProperty({ type: 'integer' }) filled: number;
  @ApiProperty({ type: 'integer' }) canceled: number;
  @ApiProperty({ type: 'integer' }) rejected: number;
  @ApiProperty({ type: 'integer' }) failed: number;
  @ApiProperty({ example: '1520.75' }) volume_usd: string;
}

export class TopSymbolResponse {
  @ApiProperty({ example: 'BTC/USDT' }) symbol: string;
  @ApiProperty({ type: 'integer' }) orders: number;
  @ApiProperty({ type: 'integer' }) filled_orders: number;
  @ApiProperty({ description: 'in the quote currency of the symbol' }) quote_volume: string;
  @ApiProperty({ type: String, nullable: true, description: 'quote_volume when the quote is a USD stablecoin' }) volume_usd: string | null;
}

export class OrderReasonResponse {
  @ApiProperty({ enum: ['canceled', 'rejected', 'failed'] }) status: string;
  @ApiProperty({ description: "the reason's code (its text before the first colon), 'unspecified' when none was recorded" }) reason: string;
  @ApiProperty({ type: 'integer' }) orders: number;
  @ApiProperty({ example: '0.012500', description: 'orders / all orders that ended in the range' }) rate: string;
}

export class TradingStatsResponse {
  @ApiProperty() timezone: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ type: String, nullable: true, enum: [...MODES] }) mode: string | null;
  @ApiProperty({ type: 'integer', description: 'orders that ended (filled, canceled, rejected, failed) in the range' }) finished: number;
  @ApiProperty({ type: [OrderDayResponse] }) by_day: OrderDayResponse[];
  @ApiProperty({ type: [TopSymbolResponse], description: 'top 10 by USD volume, then by orders' }) top_symbols: TopSymbolResponse[];
  @ApiProperty({ type: [OrderReasonResponse], description: 'orders that ended without a fill, by status and reason' }) reasons: OrderReasonResponse[];
  @ApiProperty({ type: TradingPnlResponse, description: 'realised PnL by day of every bot and follower book' }) pnl: TradingPnlResponse;
}

export class RevenueMonthPlanResponse {
  @ApiProperty({ example: '2026-11' }) month: string;
  @ApiProperty({ description: "plan code; profit-share payments as 'profit_share'" }) plan: string;
  @ApiProperty({ type: 'integer', description: 'payments completed in the month' }) payments: number;
  @ApiProperty({ example: '2900', description: 'gross: money received in the month' }) revenue_usd: string;
  @ApiProperty({ type: 'integer', description: 'payments refunded in the month (whenever they were paid)' }) refunds: number;
  @ApiProperty({ example: '29', description: 'money refunded in the month' }) refunds_usd: string;
  @ApiProperty({ example: '2871', description: 'revenue_usd − refunds_usd' }) net_usd: string;
}

export class RevenueMonthResponse {
  @ApiProperty({ example: '2026-11' }) month: string;
  @ApiProperty({ type: 'integer' }) payments: number;
  @ApiProperty({ description: 'gross' }) revenue_usd: string;
  @ApiProperty({ type: 'integer' }) refunds: number;
  @ApiProperty() refunds_usd: string;
  @ApiProperty() net_usd: string;
}

export class RevenueResponse {
  @ApiProperty() timezone: string;
  @ApiProperty({ example: '2025-12' }) from: string;
  @ApiProperty({ example: '2026-11' }) to: string;
  @ApiProperty({ description: 'gross over the range' }) total_usd: string;
  @ApiProperty() refunds_usd: string;
  @ApiProperty() net_usd: string;
  @ApiProperty({ type: [RevenueMonthResponse], description: 'every month of the range, zeros included' }) by_month: RevenueMonthResponse[];
  @ApiProperty({ type: [RevenueMonthPlanResponse] }) by_month_and_plan: RevenueMonthPlanResponse[];
}
