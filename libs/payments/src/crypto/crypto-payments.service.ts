import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService, Decimal } from '@torgovo/core';
import { SubscriptionPlan } from '@torgovo/plans';
import { AuditContext, isUniqueViolation, lockActiveUserBilling } from '@torgovo/subscriptions';
import { CryptoPaymentInstructionsResponse, CryptoPaymentStatusResponse, InitializeCryptoPaymentDto } from '../dto/crypto.dto';
import { CoinGatePaymentsService } from '../coingate/coingate-payments.service';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { CryptoPaymentsConfig } from './crypto-config';
import { baseCryptoAmount, CryptoCurrency, CURRENCY_SPECS, MAX_AMOUNT_OFFSET_UNITS, okxChain, resolveNetwork, uniqueCryptoAmount } from './crypto-currencies';
import { DepositAddressCache } from './deposit-address-cache';
import { OkxAdminClient } from './okx-admin-client';
import { PaymentTarget, PaymentTargets } from './payment-target';

/** Tries to find a free amount when another payment took the same one between our read and insert. */
const AMOUNT_ATTEMPTS = 5;

interface OpenQuote {
  id: string;
  crypto_currency: CryptoCurrency;
  network: string;
  crypto_amount: string;
  deposit_address: string;
  deposit_tag: string | null;
  amount_usd: string;
  expires_at: Date;
}

interface Slot {
  address: string;
  tag: string | null;
  network: string;
  ccy: CryptoCurrency;
}

/** Deposits to the platform's OKX account: the payment request and its status. */
@Injectable()
export class CryptoPaymentsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CryptoPaymentsConfig) private readonly config: CryptoPaymentsConfig,
    private readonly okx: OkxAdminClient,
    private readonly addresses: DepositAddressCache,
    private readonly targets: PaymentTargets,
    private readonly audit: AuditService,
    private readonly coingate: CoinGatePaymentsService,
  ) {}

  /**
   * A payment request with its own amount: the price in the coin (ticker; stablecoins at par)
   * plus a small offset no other open payment on that address holds, so the deposit names the
   * payment. Pays the user's pending renewal of this plan if there is one, else a new (pending)
   * subscription. The OKX calls happen before the transaction; the unique index settles races.
   */
  async initialize(userId: string, dto: InitializeCryptoPaymentDto, ctx: AuditContext, now = new Date()): Promise<CryptoPaymentInstructionsResponse> {
    this.okx.assertEnabled();
    const ccy = dto.crypto_currency;
    const network = resolveNetwork(ccy, dto.network);
    if (!network) throw PaymentErrors.unsupportedNetwork(ccy, CURRENCY_SPECS[ccy].networks);
    const plan = await this.ds.getRepository(SubscriptionPlan).findOne({ where: { id: dto.plan_id } });
    if (!plan) throw PaymentErrors.planNotFound();
    // No is_active check here: a plan withdrawn from sale still renews for its subscribers (as Stripe
    // keeps billing them); a new subscription to it is refused where it is made (SubscriptionsService.subscribe).

    const deposit = await this.addresses.get(ccy, network);
    const usdPrice = CURRENCY_SPECS[ccy].stable ? '1' : await this.okx.usdtPrice(ccy);
    const slot: Slot = { ...deposit, network, ccy };
    // CoinGate is asked before the transaction (no network call under the user's billing lock).
    const coingateOpen = await this.coingate.renewalOrdersOpen(userId, plan.id);

    return this.ds.transaction(async (m) => {
      // The user's row before the billing lock: resolve may subscribe, which takes it (lockActiveUserBilling).
      await lockActiveUserBilling(m, userId);
      const target = await this.targets.resolve(m, userId, plan, dto, ctx);
      // A renewal is one payment row: not switched away from a CoinGate order that can still be paid
      // (its paid callback would then be refused, the money received and never applied). An order
      // made since CoinGate was asked counts as open.
      if (target.renewalPaymentId) {
        const [cg] = (await m.query(
          `SELECT provider_payment_id FROM payments WHERE id = $1 AND provider = 'coingate' AND status = 'pending' AND provider_payment_id IS NOT NULL`,
          [target.renewalPaymentId],
        )) as Array<{ provider_payment_id: string }>;
        if (cg && coingateOpen.get(cg.provider_payment_id) !== false) throw PaymentErrors.renewalOpenElsewhere('CoinGate', null);
      }
      // Nor re-quoted while its OKX quote is open: a deposit for that quote's amount would then match
      // nothing. The same coin and network get that quote back; another is refused until it expires.
      // A new subscription likewise has one open quote: each quote holds one of the few amounts of
      // the address (MAX_AMOUNT_OFFSET_UNITS), and one account asking again and again would take
      // them all from everyone else (503 crypto_amounts_exhausted).
      const open = await this.openQuote(m, target, now);
      if (open && (open.crypto_currency !== ccy || open.network !== network)) {
        throw PaymentErrors.renewalOpenElsewhere(`OKX deposit (${open.crypto_currency} on ${open.network})`, open.expires_at, target.renewalPaymentId ? 'renewal' : 'subscription');
      }
      if (open) return this.instructionsFor(open, target, now);
      const amountUsd = target.amountUsd;
      const base = baseCryptoAmount(amountUsd, usdPrice, ccy);
      const expiresAt = new Date(now.getTime() + this.config.ttlMs);

      const { id, amount: stored } = await this.placeWithUniqueAmount(m, slot, base, now, (amt) =>
        target.renewalPaymentId
          ? this.payRenewalInPlace(m, target.renewalPaymentId, slot, amt, expiresAt)
          : this.insertPayment(m, userId, plan.id, target, slot, amountUsd, amt, expiresAt),
      );
      await this.targets.hold(m, target, this.config.holdUntil(expiresAt), this.config.holdCapMs);
      // One spelling of an amount everywhere (initialize, status, history): no trailing zeros.
      const amount = new Decimal(stored).toFixed();
      await this.audit.record(
        {
          event_type: 'payment.crypto_initialized',
          user_id: userId,
          actor_id: ctx.actorId ?? userId,
          data: { payment_id: id, subscription_id: target.subscriptionId, plan_code: plan.code, crypto_currency: ccy, network, crypto_amount: amount, amount_usd: amountUsd, usd_price: usdPrice },
          ip: ctx.ip ?? null,
          user_agent: ctx.user_agent ?? null,
        },
        m,
      );
      return {
        payment_id: id,
        subscription_id: target.subscriptionId,
        kind: target.renewalPaymentId ? 'renewal' : 'subscription',
        deposit_address: slot.address,
        deposit_tag: slot.tag,
        network,
        crypto_currency: ccy,
        crypto_amount: amount,
        amount_usd: amountUsd,
        expires_in_seconds: Math.round(this.config.ttlMs / 1000),
        expires_at: expiresAt.toISOString(),
        instructions: instructions(ccy, network, amount, slot, this.config.CRYPTO_PAYMENT_TTL_MINUTES),
      };
    });
  }

  /**
   * The target's OKX quote while it can still be paid (pending, not expired at `now`): the renewal
   * row's, or the newest of the subscription's own payments. Read under the user's billing lock, so
   * two requests of the user cannot both find none.
   */
  private async openQuote(m: EntityManager, target: PaymentTarget, now: Date): Promise<OpenQuote | null> {
    const [row] = (await m.query(
      `SELECT id, crypto_currency, network, crypto_amount::text AS crypto_amount, deposit_address, deposit_tag, amount_usd::text AS amount_usd, expires_at
         FROM payments
        WHERE ${target.renewalPaymentId ? 'id = $1' : `subscription_id = $1 AND kind = 'subscription'`}
          AND provider = 'okx' AND status = 'pending' AND expires_at > $2
        ORDER BY created_at DESC LIMIT 1`,
      [target.renewalPaymentId ?? target.subscriptionId, now],
    )) as OpenQuote[];
    return row ?? null;
  }

  /** The answer for a quote already open (the same payment, amount, address and expiry as when it was made). */
  private instructionsFor(q: OpenQuote, target: PaymentTarget, now: Date): CryptoPaymentInstructionsResponse {
    const amount = new Decimal(q.crypto_amount).toFixed();
    const slot: Slot = { address: q.deposit_address, tag: q.deposit_tag, network: q.network, ccy: q.crypto_currency };
    return {
      payment_id: q.id,
      subscription_id: target.subscriptionId,
      kind: target.renewalPaymentId ? 'renewal' : 'subscription',
      deposit_address: q.deposit_address,
      deposit_tag: q.deposit_tag,
      network: q.network,
      crypto_currency: q.crypto_currency,
      crypto_amount: amount,
      amount_usd: q.amount_usd,
      expires_in_seconds: Math.max(0, Math.round((q.expires_at.getTime() - now.getTime()) / 1000)),
      expires_at: q.expires_at.toISOString(),
      instructions: instructions(q.crypto_currency, q.network, amount, slot, Math.max(1, Math.ceil((q.expires_at.getTime() - now.getTime()) / 60_000))),
    };
  }

  /** Another user's payment (or a card one) is 404, never its data. */
  async status(userId: string, paymentId: string): Promise<CryptoPaymentStatusResponse> {
    const p = await this.ds.getRepository(Payment).findOne({ where: { id: paymentId, user_id: userId } });
    if (!p || (p.provider !== 'okx' && p.provider !== 'coingate')) throw PaymentErrors.paymentNotFound();
    const plan = p.plan_id
      ? await this.ds.getRepository(SubscriptionPlan).findOne({ where: { id: p.plan_id }, select: { id: true, code: true, name: true, plan_type: true } })
      : null;
    return {
      payment_id: p.id,
      status: p.status === 'cancelled' ? 'failed' : p.status,
      confirmed: p.status === 'completed',
      plan: plan ? { id: plan.id, code: plan.code, name: plan.name, plan_type: plan.plan_type } : null,
      tx_hash: p.tx_hash,
      received_amount: p.received_amount === null ? null : new Decimal(p.received_amount).toFixed(),
      provider: p.provider,
      crypto_currency: p.crypto_currency,
      crypto_amount: p.crypto_amount === null ? null : new Decimal(p.crypto_amount).toFixed(),
      network: p.network,
      deposit_address: p.deposit_address,
      deposit_tag: p.deposit_tag,
      amount_usd: p.amount_usd,
      expires_at: p.expires_at?.toISOString() ?? null,
      confirmed_at: p.confirmed_at?.toISOString() ?? null,
      failure_reason: p.failure_reason,
    };
  }

  /**
   * Picks a free amount among the open payments of the address and writes it; a concurrent
   * request that took the same amount makes the unique index refuse ours, and we pick again
   * (inside a savepoint, so the transaction survives the refusal).
   */
  private async placeWithUniqueAmount(m: EntityManager, slot: Slot, base: Decimal, now: Date, write: (amount: string) => Promise<string>): Promise<{ id: string; amount: string }> {
    const unit = new Decimal(1).div(new Decimal(10).pow(CURRENCY_SPECS[slot.ccy].decimals));
    const lookback = new Date(now.getTime() - this.config.CRYPTO_DEPOSIT_LOOKBACK_HOURS * 3_600_000);
    for (let attempt = 0; attempt < AMOUNT_ATTEMPTS; attempt++) {
      // The open quotes' amounts are taken; those of quotes closed within the deposit lookback are
      // avoided if possible (the matcher would find such an amount ambiguous).
      const rows = (await m.query(
        `SELECT crypto_amount::text AS a, status = 'pending' AS open FROM payments
          WHERE provider = 'okx' AND crypto_currency = $1 AND network = $2 AND deposit_address = $3
            AND COALESCE(deposit_tag, '') = $4 AND crypto_amount > $5 AND crypto_amount <= $6
            AND (status = 'pending' OR expires_at >= $7)`,
        [slot.ccy, slot.network, slot.address, slot.tag ?? '', base.toFixed(), base.plus(unit.times(MAX_AMOUNT_OFFSET_UNITS)).toFixed(), lookback],
      )) as Array<{ a: string; open: boolean }>;
      const amount = uniqueCryptoAmount(
        base,
        slot.ccy,
        rows.filter((r) => r.open).map((r) => r.a),
        Math.random,
        rows.filter((r) => !r.open).map((r) => r.a),
      );
      if (!amount) throw PaymentErrors.noFreeAmount();
      await m.query('SAVEPOINT crypto_amount');
      try {
        const id = await write(amount);
        await m.query('RELEASE SAVEPOINT crypto_amount');
        return { id, amount };
      } catch (err) {
        await m.query('ROLLBACK TO SAVEPOINT crypto_amount');
        if (!isUniqueViolation(err, 'payments_okx_open_amount_key')) throw err;
      }
    }
    throw PaymentErrors.noFreeAmount();
  }

  private async insertPayment(m: EntityManager, userId: string, planId: string, t: PaymentTarget, slot: Slot, amountUsd: string, amount: string, expiresAt: Date): Promise<string> {
    const id = randomUUID();
    await m.getRepository(Payment).insert({
      id,
      user_id: userId,
      subscription_id: t.subscriptionId,
      plan_id: planId,
      kind: 'subscription',
      provider: 'okx',
      status: 'pending',
      amount_usd: amountUsd,
      currency: 'USD',
      billing_cycle: t.cycle,
      crypto_currency: slot.ccy,
      network: slot.network,
      crypto_amount: amount,
      deposit_address: slot.address,
      deposit_tag: slot.tag,
      expires_at: expiresAt,
    });
    return id;
  }

  /** A renewal request becomes an OKX payment (again, after a lapsed attempt); its period stays the scheduler's. */
  private async payRenewalInPlace(m: EntityManager, paymentId: string, slot: Slot, amount: string, expiresAt: Date): Promise<string> {
    await m.query(
      `UPDATE payments SET provider = 'okx', status = 'pending', crypto_currency = $2, network = $3, crypto_amount = $4,
              deposit_address = $5, deposit_tag = $6, expires_at = $7, failure_reason = NULL,
              provider_payment_id = NULL, checkout_url = NULL, callback_token_hash = NULL, updated_at = now()
        WHERE id = $1`,
      [paymentId, slot.ccy, slot.network, amount, slot.address, slot.tag, expiresAt],
    );
    return paymentId;
  }
}

function instructions(ccy: string, network: string, amount: string, slot: Slot, ttlMinutes: number): string {
  const tag = slot.tag ? ` with memo/tag ${slot.tag} (required: without it the deposit cannot be credited)` : '';
  return (
    `Send exactly ${amount} ${ccy} on the ${network} network (${okxChain(ccy, network)}) to ${slot.address}${tag} within ${ttlMinutes} minutes. ` +
    `The exact amount identifies your payment: do not round it, and pay any network fee on top. ` +
    `Your plan turns on automatically about a minute after the deposit is confirmed on the exchange.`
  );
}
