import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { envInt, envBool, loadEnvSection } from '@torgovo/core';

/**
 * TradingManager knobs beyond core's TRADING_POLL_MS / TRADING_CONCURRENCY, validated once at
 * start like BillingConfig (property names are the variable names). Kept here until core's
 * EnvSchema owns them.
 */
export class TradingManagerConfig {
  /** false: no timers; tests drive runOnce()/syncOpenOrders() by hand. */
  @Transform(envBool) @IsBoolean()
  TRADING_MANAGER_ENABLED = true;

  /**
   * How long a claimed order stays ours. Must be well above one execution (a few exchange
   * calls of ≤ 10 s each): after it, another worker reconciles the order as crashed. The claim is
   * confirmed and renewed right before the placement call, so the floor only has to cover that one
   * call (ccxt's 10 s timeout) with a margin. Tests make a lease run out by moving next_attempt_at,
   * not with a shorter lease: the same floor holds everywhere.
   */
  @Transform(envInt) @IsInt() @Min(15_000) @Max(3_600_000)
  TRADING_LEASE_MS = 60_000;

  /** Placement attempts before an order fails on transient errors. */
  @Transform(envInt) @IsInt() @Min(1) @Max(100)
  TRADING_MAX_ATTEMPTS = 8;

  /** Backoff after the n-th transient failure: base × 2^(n-1), capped, with ±20 % jitter. */
  @Transform(envInt) @IsInt() @Min(1) @Max(600_000)
  TRADING_BACKOFF_BASE_MS = 1_000;

  @Transform(envInt) @IsInt() @Min(1) @Max(3_600_000)
  TRADING_BACKOFF_MAX_MS = 60_000;

  /**
   * A live order not yet placed this long after its signal was accepted (the workers were down,
   * the exchange kept failing) is rejected as `stale_order` instead of trading on an old signal.
   * Checked before every placement, after the client-order-id lookup. 0 = never.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  TRADING_MAX_ORDER_AGE_SECONDS = 600;

  /**
   * Paper orders are claimed and executed in batches of up to this many (one per queue, as always):
   * the placement decision, the paper fills and one statement recording them in one transaction
   * per batch, instead of ~12 statements in 4 transactions per order. Live orders: TRADING_LIVE_BATCH_SIZE.
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(5_000)
  TRADING_PAPER_BATCH_SIZE = 500;

  /** Paper batches in flight at once per worker (a second batch is decided while the first fills). */
  @Transform(envInt) @IsInt() @Min(1) @Max(16)
  TRADING_PAPER_BATCHES = 2;

  /**
   * Live orders never sent before are claimed and executed in batches of up to this many (one per
   * queue): pre-reads per order concurrently, ONE placement decision for the batch, the sends
   * concurrently (TRADING_LIVE_SENDS_IN_FLIGHT), one outcome statement. 0: every live order takes
   * the single path, TRADING_CONCURRENCY at a time. Orders sent before, out of attempts or stale
   * always take the single path (inside the batch, TRADING_CONCURRENCY at a time).
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(5_000)
  TRADING_LIVE_BATCH_SIZE = 500;

  /**
   * Live batches in flight at once per worker. Where OKX answers slowly (~300 ms a call) the worker
   * waits rather than computes, and 4 (with OKX_MAX_CONNECTIONS ≥ 1,024) placed a 10,000-order burst
   * in 16–17 s against 22 s at 2 (bench/burst); at +50 ms, where the worker is CPU-bound, 4 gained
   * nothing and cost ~12 MB of RSS.
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(16)
  TRADING_LIVE_BATCHES = 2;

  /**
   * Exchange calls (pre-reads, placements) one live batch has in flight at once; the batch is also
   * decided in parts of this many orders, so a decided send leaves within about one round of calls
   * of its decision (OKX refuses a placement 13 s after its decision — expTime, sendDeadline — so one
   * that cannot start within 12 s is not sent but retried; until 2026-11-26 that start budget was
   * 3 s, which the figures below were measured with). 256: at ~0.1 s per market
   * order (placement + read, 50 ms each), two batches carry ~5,000 orders/s of latency, provided the
   * HTTP client may open that many connections (OKX_MAX_CONNECTIONS ≥ this × TRADING_LIVE_BATCHES;
   * ccxt's own cap of 256 had halved it: at 300 ms a call, 10,000 orders took 28–30 s, and 22 s with
   * 512 connections; 17 s with 4 batches, bench/burst on a 2-core machine). Measured
   * (bench/burst, 10,000 live orders, +50 ms per call, a slower 2-core machine): at 128 the last
   * order reached the exchange after 18.4–24.6 s, and up to 3 % of decided sends missed the 3 s start
   * budget and went again through the single path (a lookup first: more calls, more database work);
   * at 256, 17.0 s twice with none missed; 384 no better (17.8 s). On a faster machine 128 and 256
   * were equal (~10 s). Worker RSS 225 MB at 256. 64 was the limit while each call held a ccxt
   * instance (OKX_CLIENT_POOL_SIZE) and the worker spent ~1 ms of CPU per order.
   */
  @Transform(envInt) @IsInt() @Min(1) @Max(1_024)
  TRADING_LIVE_SENDS_IN_FLIGHT = 256;

  /**
   * How long the read-back of a live batch order (its fill: OKX's placement answer has none) may
   * wait behind the worker's placements. The order is recorded `open` once OKX acknowledges it, and
   * its fill is read at once — unless the placements are backlogged (a live claim came back full):
   * then when no live order is being claimed, decided or sent any more, or after this long in any
   * case (LiveReadBacks). At a bar close every order then reaches the exchange before any fill
   * is read; the fills show this much later at most. 0: read at once. Measured (bench/burst, 10,000
   * live orders, +50 ms per call, a slow 2-core machine where placing them took ~30 s): the last
   * order reached the exchange at 21 s with 30 s here, against 33 s with every fill read at once;
   * with 10 s the reads of the first orders came back during the burst (32 s).
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(120_000)
  TRADING_READ_BACK_MAX_DEFER_MS = 30_000;

  /**
   * While an api process says its webhook intake is backlogged (more than WEBHOOK_BUSY_IN_FLIGHT
   * alerts unanswered, as at a bar close), the worker claims no new orders, for at most this long per
   * backlog (IngestYield): the api gets the CPU to answer every alert within TradingView's 3 s, and
   * the orders are placed after. 0: never yield. Measured (bench/burst, 10,000 alerts in 1 s, 2 cores):
   * every alert answered within 3 s against 88-92 %, the last order placed no later.
   */
  @Transform(envInt) @IsInt() @Min(0) @Max(10_000)
  TRADING_INGEST_YIELD_MAX_MS = 3_000;

  /** 0 disables the periodic sync of `open` orders. */
  @Transform(envInt) @IsInt() @Min(0) @Max(3_600_000)
  TRADING_SYNC_INTERVAL_MS = 5_000;

  /** Open orders looked up per sync tick. */
  @Transform(envInt) @IsInt() @Min(1) @Max(10_000)
  TRADING_SYNC_BATCH = 200;

  /**
   * LISTEN for the orders trigger's NOTIFY so a new pending order is claimed at once; polling stays
   * the safety net (and the only path where NOTIFY does not reach us, e.g. embedded PGlite).
   */
  @Transform(envBool) @IsBoolean()
  TRADING_NOTIFY_ENABLED = true;

  /** How long shutdown waits for orders in flight before leaving them to the lease. */
  @Transform(envInt) @IsInt() @Min(0) @Max(600_000)
  TRADING_SHUTDOWN_GRACE_MS = 15_000;

  /** How often finished orders are added to the admin figures' daily rollup (order_day_stats); 0 = never (figures stay exact, only slower). */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  ORDER_STATS_ROLLUP_INTERVAL_SECONDS = 60;

  /** How often the platform's realised PnL by day (pnl_day_stats, the FIFO engine over every book) is recomputed; 0 = never. */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  PNL_ROLLUP_INTERVAL_SECONDS = 900;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): TradingManagerConfig {
    return loadEnvSection(TradingManagerConfig, env);
  }
}
