import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig, AuditService, Decimal } from '@torgovo/core';
import { SubscriptionPlan } from '@torgovo/plans';
import { AuditContext, lockActiveUserBilling, lockUserBilling } from '@torgovo/subscriptions';
import { CallbackResponse, CoinGateCheckoutDto, CoinGateCheckoutResponse } from '../dto/crypto.dto';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { CryptoPaymentsConfig } from '../crypto/crypto-config';
import { CompletedCryptoPayment, CryptoPaymentCompletion } from '../crypto/crypto-payment-completion';
import { PaymentNotifier } from '../crypto/payment-notifier';
import { assertNoOpenOkxQuote } from '../crypto/open-crypto-payments';
import { PaymentTargets } from '../crypto/payment-target';
import { CoinGateClient, CoinGateOrder } from './coingate-client';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const FAILED_STATUSES = new Set(['invalid', 'expired', 'canceled']);
/** CoinGate still takes (or has taken) the payment: a renewal's second checkout reuses the order. */
const OPEN_OR_PAID = new Set(['new', 'pending', 'confirming', 'paid']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CoinGateCallbackBody {
  id?: unknown;
  order_id?: unknown;
  status?: unknown;
  token?: unknown;
}

/**
 * A paid CoinGate order completes its payment once, whatever status the payment had: CoinGate's
 * word is final and money received is always recorded (a payment cancelled because its
 * subscription was replaced meanwhile is completed too; its activation then fails and is audited).
 */
const COMPLETE_SQL = `
  UPDATE payments SET status = 'completed', received_amount = $2::numeric, crypto_currency = COALESCE($3, crypto_currency),
         confirmed_at = $4, failure_reason = NULL, updated_at = now()
   WHERE id = $1 AND provider = 'coingate' AND status IN ('pending', 'failed', 'expired', 'cancelled')
  RETURNING id, user_id, subscription_id, kind, provider, amount_usd::text AS amount_usd, crypto_currency,
            received_amount::text AS received_amount, tx_hash`;

const FAIL_SQL = `
  UPDATE payments SET status = CASE WHEN $2 = 'expired' THEN 'expired' ELSE 'failed' END, failure_reason = $3, updated_at = now()
   WHERE id = $1 AND provider = 'coingate' AND status = 'pending'
  RETURNING id`;

/**
 * CoinGate: an order per payment, paid on CoinGate's page. A callback is only a hint: it must
 * carry the payment's own token, and then the order is fetched back from CoinGate and its status
 * there is what we apply (a forged or replayed callback changes nothing).
 */
@Injectable()
export class CoinGatePaymentsService {
  private readonly logger = new Logger(CoinGatePaymentsService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CryptoPaymentsConfig) private readonly crypto: CryptoPaymentsConfig,
    private readonly client: CoinGateClient,
    private readonly targets: PaymentTargets,
    private readonly completion: CryptoPaymentCompletion,
    private readonly notifier: PaymentNotifier,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** The payment row, the per-payment token and the CoinGate order in one transaction: a CoinGate failure leaves nothing. */
  async checkout(userId: string, dto: CoinGateCheckoutDto, ctx: AuditContext): Promise<CoinGateCheckoutResponse> {
    this.client.assertEnabled();
    const plan = await this.ds.getRepository(SubscriptionPlan).findOne({ where: { id: dto.plan_id } });
    if (!plan) throw PaymentErrors.planNotFound();
    // No is_active check here: a plan withdrawn from sale still renews for its subscribers (as Stripe
    // keeps billing them); a new subscription to it is refused where it is made (SubscriptionsService.subscribe).
    return this.ds.transaction(async (m) => {
      // The user's row before the billing lock: resolve may subscribe, which takes it (lockActiveUserBilling).
      await lockActiveUserBilling(m, userId);
      const target = await this.targets.resolve(m, userId, plan, dto, ctx);
      // A renewal is one payment row, paid in place: a second checkout while its CoinGate order is
      // still open gets that same order back. A new order would replace the row's callback token,
      // and the first order — perhaps being paid in another tab — would then be refused when paid.
      const open = target.renewalPaymentId ? await this.openRenewalOrder(m, target.renewalPaymentId) : null;
      if (open) return { payment_id: target.renewalPaymentId!, subscription_id: target.subscriptionId, payment_url: open };
      // Nor does it take an OKX deposit request still open on the row: that deposit could then match nothing.
      if (target.renewalPaymentId) await assertNoOpenOkxQuote(m, target.renewalPaymentId);
      // CoinGate keeps its order open about as long as our own quote: the same hold.
      await this.targets.hold(m, target, this.crypto.holdUntil(new Date(Date.now() + this.crypto.ttlMs)), this.crypto.holdCapMs);
      const token = randomBytes(32).toString('base64url');
      const paymentId = target.renewalPaymentId ?? randomUUID();
      await this.writePayment(m, userId, plan.id, paymentId, target, sha256(token));
      const base = this.config.publicUrl.replace(/\/+$/, '');
      const order = await this.client.createOrder({
        order_id: paymentId,
        price_amount: target.amountUsd,
        price_currency: 'USD',
        receive_currency: this.crypto.COINGATE_RECEIVE_CURRENCY,
        title: `${plan.name} (${target.cycle})`,
        description: `Torgovo ${plan.name} subscription${target.renewalPaymentId ? ' renewal' : ''}`,
        callback_url: `${base}/api/payments/crypto/callback`,
        success_url: this.crypto.COINGATE_SUCCESS_URL ?? `${base}/billing/success?payment_id=${paymentId}`,
        cancel_url: this.crypto.COINGATE_CANCEL_URL ?? `${base}/billing/cancel?payment_id=${paymentId}`,
        token,
      });
      if (!order.payment_url || !Number.isSafeInteger(order.id)) throw PaymentErrors.provider();
      await m.getRepository(Payment).update({ id: paymentId }, { provider_payment_id: String(order.id), checkout_url: order.payment_url });
      await this.audit.record(
        {
          event_type: 'payment.coingate_created',
          user_id: userId,
          actor_id: ctx.actorId ?? userId,
          data: { payment_id: paymentId, subscription_id: target.subscriptionId, plan_code: plan.code, amount_usd: target.amountUsd, coingate_order_id: order.id },
          ip: ctx.ip ?? null,
          user_agent: ctx.user_agent ?? null,
        },
        m,
      );
      return { payment_id: paymentId, subscription_id: target.subscriptionId, payment_url: order.payment_url };
    });
  }

  /**
   * For the OKX path, asked before its transaction (no network call under its locks): whether
   * CoinGate can still take payment on each open CoinGate order of the user's renewals of this plan,
   * by CoinGate order id. An order absent from the answer was not asked about (made since): the
   * caller treats it as open. With CoinGate no longer configured none is open.
   */
  async renewalOrdersOpen(userId: string, planId: string): Promise<Map<string, boolean>> {
    const rows = (await this.ds.query(
      `SELECT id, provider_payment_id FROM payments
        WHERE user_id = $1 AND plan_id = $2 AND kind = 'renewal' AND provider = 'coingate' AND status = 'pending' AND provider_payment_id IS NOT NULL`,
      [userId, planId],
    )) as Array<{ id: string; provider_payment_id: string }>;
    const open = new Map<string, boolean>();
    for (const r of rows) {
      if (!this.client.enabled) open.set(r.provider_payment_id, false);
      else {
        const order = await this.client.getOrder(r.provider_payment_id);
        open.set(r.provider_payment_id, order.order_id === r.id && OPEN_OR_PAID.has(order.status));
      }
    }
    return open;
  }

  /**
   * The checkout URL of the renewal's CoinGate order when CoinGate still takes payment on it (or has
   * it paid). Asks CoinGate (a failure to answer is a 502: the order is never assumed closed). With
   * CoinGate no longer configured nothing can complete such an order here: none is open.
   */
  private async openRenewalOrder(m: EntityManager, paymentId: string): Promise<string | null> {
    const [row] = (await m.query(
      `SELECT provider_payment_id, checkout_url FROM payments
        WHERE id = $1 AND provider = 'coingate' AND status = 'pending' AND provider_payment_id IS NOT NULL AND checkout_url IS NOT NULL`,
      [paymentId],
    )) as Array<{ provider_payment_id: string; checkout_url: string }>;
    if (!row || !this.client.enabled) return null;
    const order = await this.client.getOrder(row.provider_payment_id);
    return order.order_id === paymentId && OPEN_OR_PAID.has(order.status) ? row.checkout_url : null;
  }

  async callback(body: CoinGateCallbackBody, meta: { ip: string | null }): Promise<CallbackResponse> {
    const paymentId = typeof body.order_id === 'string' ? body.order_id : '';
    const token = typeof body.token === 'string' ? body.token : '';
    const payment = UUID.test(paymentId)
      ? await this.ds.getRepository(Payment).findOne({
          where: { id: paymentId, provider: 'coingate' },
          select: { id: true, user_id: true, amount_usd: true, provider_payment_id: true, callback_token_hash: true, status: true },
        })
      : null;
    if (!payment?.callback_token_hash || !payment.provider_payment_id || !sameHash(sha256(token), payment.callback_token_hash)) {
      this.logger.warn({ order_id: paymentId.slice(0, 64), ip: meta.ip }, 'CoinGate callback refused: unknown payment or wrong token');
      throw PaymentErrors.invalidCallback();
    }
    // Never the callback's word: the order as CoinGate has it now, by the id we stored.
    const order = await this.client.getOrder(payment.provider_payment_id);
    if (order.order_id !== payment.id || order.price_currency !== 'USD' || !new Decimal(order.price_amount || '0').eq(payment.amount_usd)) {
      this.logger.error({ payment_id: payment.id, coingate_order_id: order.id }, 'CoinGate order does not describe this payment; nothing applied');
      return { outcome: 'unchanged' };
    }
    if (order.status === 'paid') return this.complete(payment.id, payment.user_id, order);
    if (FAILED_STATUSES.has(order.status)) return this.fail(payment.id, order);
    return { outcome: 'unchanged' };
  }

  private async complete(paymentId: string, userId: string, order: CoinGateOrder): Promise<CallbackResponse> {
    return this.ds.transaction(async (m) => {
      // The user's billing lock before the payment row, as checkout and initialize take them (the
      // activation takes it after the UPDATE otherwise: a deadlock with a checkout of that user).
      await lockUserBilling(m, userId);
      const now = new Date();
      const received = order.pay_amount && /^\d+(\.\d+)?$/.test(order.pay_amount) ? order.pay_amount : null;
      const [rows] = (await m.query(COMPLETE_SQL, [paymentId, received, order.pay_currency?.toUpperCase() ?? null, now])) as [CompletedCryptoPayment[], number];
      if (rows.length === 0) return { outcome: 'unchanged' as const };
      await this.completion.apply(m, rows, { actorId: null, event: 'payment.completed', data: { coingate_order_id: order.id, coingate_status: order.status } }, now);
      await this.notifier.paymentsConfirmed(m, [paymentId]);
      return { outcome: 'completed' as const };
    });
  }

  private async fail(paymentId: string, order: CoinGateOrder): Promise<CallbackResponse> {
    return this.ds.transaction(async (m) => {
      const [rows] = (await m.query(FAIL_SQL, [paymentId, order.status, `coingate_${order.status}`])) as [Array<{ id: string }>, number];
      if (rows.length === 0) return { outcome: 'unchanged' as const };
      const [p] = (await m.query('SELECT user_id, subscription_id FROM payments WHERE id = $1', [paymentId])) as Array<{ user_id: string; subscription_id: string | null }>;
      await this.audit.record(
        { event_type: 'payment.failed', user_id: p.user_id, actor_id: null, data: { payment_id: paymentId, subscription_id: p.subscription_id, provider: 'coingate', coingate_order_id: order.id, coingate_status: order.status } },
        m,
      );
      await (order.status === 'expired' ? this.notifier.paymentsExpired(m, [paymentId]) : this.notifier.paymentsFailed(m, [paymentId]));
      return { outcome: 'failed' as const };
    });
  }

  private async writePayment(m: EntityManager, userId: string, planId: string, paymentId: string, t: { subscriptionId: string; renewalPaymentId: string | null; cycle: Payment['billing_cycle']; amountUsd: string }, tokenHash: string): Promise<void> {
    if (t.renewalPaymentId) {
      await m.query(
        `UPDATE payments SET provider = 'coingate', status = 'pending', callback_token_hash = $2, crypto_currency = NULL, crypto_amount = NULL,
                deposit_address = NULL, deposit_tag = NULL, network = NULL, failure_reason = NULL, updated_at = now() WHERE id = $1`,
        [paymentId, tokenHash],
      );
      return;
    }
    await m.getRepository(Payment).insert({
      id: paymentId,
      user_id: userId,
      subscription_id: t.subscriptionId,
      plan_id: planId,
      kind: 'subscription',
      provider: 'coingate',
      status: 'pending',
      amount_usd: t.amountUsd,
      currency: 'USD',
      billing_cycle: t.cycle,
      callback_token_hash: tokenHash,
    });
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
