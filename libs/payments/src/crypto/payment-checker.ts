import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, Decimal, isDecimalString, PeriodicJob } from '@torgovo/core';
import { lockUserBilling } from '@torgovo/subscriptions';
import { CryptoPaymentsConfig } from './crypto-config';
import { CompletedCryptoPayment, CryptoPaymentCompletion } from './crypto-payment-completion';
import { CURSOR_SQL, EXPIRE_SQL, PICK_SQL, SETTLE_SQL, UPSERT_DEPOSITS_SQL } from './deposit-statements';
import { OkxAdminClient, OkxDeposit } from './okx-admin-client';
import { PaymentNotifier } from './payment-notifier';

/** pg_try_advisory_lock key of the PaymentChecker: one replica polls OKX per tick. */
export const PAYMENT_CHECKER_LOCK_KEY = 7_204_600;
const INTERVAL_NAME = 'payment-checker';
/** A deposit OKX lists with a ts slightly older than one already seen is still read. */
const CURSOR_OVERLAP_MS = 10 * 60_000;
/** Rounds of matching per tick: each either settles or classifies something, or the loop stops. */
const MAX_MATCH_ROUNDS = 50;

export interface PaymentCheckerResult {
  /** false when OKX could not be read this tick (the window is read again next tick). */
  fetched: boolean;
  seen: number;
  completed: number;
  unmatched: number;
  expired: number;
}

interface PickRow {
  picks: Array<{ deposit_id: string; payment_id: string; user_id: string; crypto_amount: string }>;
  unmatched: Array<{ id: string; ccy: string; amount: string; dep_id: string }>;
  claimed: number;
}

interface SettleRow {
  completed: Array<CompletedCryptoPayment & { deposit_id: string }>;
  marked: number;
}

/**
 * Polls the platform's OKX deposit history, keeps every deposit, settles the pending crypto
 * payments they pay and expires the unpaid ones. The timer only triggers; the work is claimed
 * (advisory lock per tick, SKIP LOCKED per deposit), so two checkers never settle twice.
 */
@Injectable()
export class PaymentChecker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PaymentChecker.name);
  private readonly job: PeriodicJob;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CryptoPaymentsConfig) private readonly config: CryptoPaymentsConfig,
    private readonly okx: OkxAdminClient,
    private readonly completion: CryptoPaymentCompletion,
    private readonly notifier: PaymentNotifier,
    private readonly audit: AuditService,
    registry: SchedulerRegistry,
  ) {
    this.job = new PeriodicJob(ds, registry, INTERVAL_NAME, PAYMENT_CHECKER_LOCK_KEY);
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.PAYMENT_CHECKER_INTERVAL_SECONDS;
    if (this.job.start(seconds * 1000, () => this.tick())) this.logger.log({ seconds, okx: this.okx.enabled }, 'Payment checker scheduled');
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** One pass under the advisory lock, or null when another replica holds it. Never throws. */
  async tick(now: Date = new Date()): Promise<PaymentCheckerResult | null> {
    try {
      const r = await this.job.exclusive(() => this.runOnce(now));
      if (r && r.completed + r.unmatched + r.expired > 0) this.logger.log(r, 'Payment checker done');
      return r;
    } catch (err) {
      // A failed round rolled back; its deposits are still `new` and are matched next tick.
      this.logger.error({ err }, 'Payment checker failed');
      return null;
    }
  }

  /** The tick's work without the lock: tests call it from two checkers at once to prove the database holds the rules. */
  async runOnce(now: Date = new Date()): Promise<PaymentCheckerResult> {
    const result: PaymentCheckerResult = { fetched: false, seen: 0, completed: 0, unmatched: 0, expired: 0 };
    if (this.okx.enabled) {
      try {
        result.seen = await this.pollDeposits(now);
        result.fetched = true;
      } catch (err) {
        // OKX down or erroring: nothing is lost, the same window is asked again next tick, and
        // deposits already stored are still matched below.
        this.logger.warn({ code: (err as { code?: string }).code ?? 'error' }, 'OKX deposit history unavailable; retrying next tick');
      }
    }
    const matched = await this.matchDeposits(now);
    result.completed = matched.completed;
    result.unmatched = matched.unmatched;
    result.expired = await this.expireDue(now);
    return result;
  }

  /** Reads every deposit since the cursor and stores it (new ones inserted, state changes applied). */
  async pollDeposits(now: Date): Promise<number> {
    const lookback = new Date(now.getTime() - this.config.CRYPTO_DEPOSIT_LOOKBACK_HOURS * 3_600_000);
    const [{ cursor }] = (await this.ds.query(CURSOR_SQL, [lookback])) as Array<{ cursor: Date }>;
    const since = Math.max(cursor.getTime() - CURSOR_OVERLAP_MS, lookback.getTime());
    const deposits = (await this.okx.depositsSince(since)).filter((d) => this.usable(d));
    if (deposits.length === 0) return 0;
    await this.ds.query(UPSERT_DEPOSITS_SQL, [
      deposits.map((d) => d.depId),
      deposits.map((d) => d.txId),
      deposits.map((d) => d.ccy),
      deposits.map((d) => d.chain),
      deposits.map((d) => d.amt),
      deposits.map((d) => d.to),
      deposits.map((d) => d.tag),
      deposits.map((d) => d.state),
      deposits.map((d) => new Date(d.ts)),
    ]);
    return deposits.length;
  }

  /**
   * Rounds of matching (PICK_SQL, the picks' users' billing locks, SETTLE_SQL), each in its own
   * transaction with the activations it causes.
   */
  async matchDeposits(now: Date): Promise<{ completed: number; unmatched: number }> {
    const tolerance = new Decimal(this.config.CRYPTO_AMOUNT_TOLERANCE_PCT).div(100).toFixed();
    const total = { completed: 0, unmatched: 0 };
    for (let round = 0; round < MAX_MATCH_ROUNDS && !this.job.stopping; round++) {
      const row = await this.ds.transaction(async (m) => {
        const [picked] = (await m.query(PICK_SQL, [this.config.creditedStates, this.config.CRYPTO_MATCH_BATCH, tolerance, this.config.CRYPTO_DEPOSIT_LOOKBACK_HOURS])) as PickRow[];
        // The users' billing locks before their payment rows, as initialize and checkout take them
        // (the activation below takes them anyway); in id order, so two checkers agree too.
        for (const userId of [...new Set(picked.picks.map((p) => p.user_id))].sort()) await lockUserBilling(m, userId);
        const [settled] = picked.picks.length
          ? ((await m.query(SETTLE_SQL, [picked.picks.map((p) => p.deposit_id), picked.picks.map((p) => p.payment_id), picked.picks.map((p) => p.crypto_amount), now])) as SettleRow[])
          : [{ completed: [], marked: 0 }];
        const r = { completed: settled.completed, unmatched: picked.unmatched };
        if (r.completed.length > 0) {
          await this.completion.apply(m, r.completed, { actorId: null, event: 'payment.completed' }, now);
          await this.notifier.paymentsConfirmed(m, r.completed.map((p) => p.id));
        }
        if (r.unmatched.length > 0) {
          await this.audit.insertMany(
            r.unmatched.map((d) => ({ event_type: 'payment.deposit_unmatched', user_id: null, actor_id: null, data: { deposit_id: d.id, dep_id: d.dep_id, ccy: d.ccy, amount: d.amount } })),
            m,
          );
        }
        return r;
      });
      total.completed += row.completed.length;
      total.unmatched += row.unmatched.length;
      // Nothing settled or classified: what is left is another checker's or waits for a later tick.
      if (row.completed.length + row.unmatched.length === 0) break;
    }
    return total;
  }

  async expireDue(now: Date): Promise<number> {
    return this.ds.transaction(async (m) => {
      // TypeORM answers UPDATE … RETURNING with [rows, affected].
      const [expired] = (await m.query(EXPIRE_SQL, [now])) as [Array<{ id: string; user_id: string; subscription_id: string | null; kind: string; provider: string | null }>, number];
      if (expired.length === 0) return 0;
      await this.audit.insertMany(
        expired.map((p) => ({
          event_type: 'payment.expired',
          user_id: p.user_id,
          actor_id: null,
          data: { payment_id: p.id, subscription_id: p.subscription_id, kind: p.kind, provider: p.provider, actor: 'payment_checker' },
        })),
        m,
      );
      await this.notifier.paymentsExpired(m, expired.map((p) => p.id));
      return expired.length;
    });
  }

  private usable(d: OkxDeposit): boolean {
    if (d.depId && d.ccy && d.chain && isDecimalString(d.amt) && Number.isFinite(d.ts) && d.ts > 0) return true;
    // Stored nowhere, so shout: this deposit needs a human until OKX lists it in a readable shape.
    this.logger.error({ dep_id: d.depId, ccy: d.ccy }, 'OKX listed a deposit we cannot read; it is retried on every tick');
    return false;
  }
}
