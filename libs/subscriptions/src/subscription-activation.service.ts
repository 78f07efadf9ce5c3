import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { AppConfig, AuditService, DomainError } from '@torgovo/core';
import { addBillingPeriods, nextPeriodEnd } from './billing-period';
import { SubscriptionPeriod } from './entities/subscription-period.entity';
import { UserSubscription } from './entities/user-subscription.entity';
import { SubscriptionErrors } from './errors';
import { AuditContext, markReplaced, subscriptionAudit, SYSTEM } from './subscription-audit';
import { assertTransition, CURRENT_STATUSES } from './subscription-states';
import { lockUserBilling } from './user-billing-lock';

export interface ActivationInput {
  /**
   * The payment that pays for this period: the idempotency key. Applying the same
   * (provider, reference) twice changes nothing the second time.
   */
  payment: { provider: 'stripe' | 'okx' | 'coingate' | 'manual'; reference: string };
  /**
   * Where the paid period starts (a provider's own period start). The end follows the product's
   * calendar (billing-period.ts, APP_TIMEZONE) unless periodEnd is given: card subscriptions pass
   * no periodEnd, so a card and a crypto payment made at the same instant end on the same day.
   */
  periodStart?: Date;
  periodEnd?: Date;
  stripeSubscriptionId?: string | null;
  /** Who applied it; default the system. A webhook passes { actor: 'provider', ip, user_agent } of its request. */
  audit?: AuditContext;
  /** Shorthand for audit: { actorId } (a user or admin who applied it by hand); null or absent = the system. */
  actorId?: string | null;
  now?: Date;
}

export interface ActivationResult {
  /** false when this payment had already been applied: nothing changed. */
  applied: boolean;
  subscription: UserSubscription;
  /** The previous subscription of this type, replaced by this activation (a Stripe one must be cancelled at Stripe by the caller). */
  replaced: UserSubscription | null;
}

const later = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);

/** Called by payment services when money arrives: first activation, trial conversion and renewal. */
@Injectable()
export class SubscriptionActivationService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** Pass the payment transaction's manager so the payment and the period commit together. */
  async activate(subscriptionId: string, input: ActivationInput, manager?: EntityManager): Promise<ActivationResult> {
    return manager ? this.activateIn(manager, subscriptionId, input) : this.ds.transaction((m) => this.activateIn(m, subscriptionId, input));
  }

  private async activateIn(m: EntityManager, subscriptionId: string, input: ActivationInput): Promise<ActivationResult> {
    const repo = m.getRepository(UserSubscription);
    const owner = await repo.findOne({ where: { id: subscriptionId }, select: { id: true, user_id: true } });
    if (!owner) throw SubscriptionErrors.notFound();
    // Same lock order as subscribe (user lock, then rows) so the two cannot deadlock.
    await lockUserBilling(m, owner.user_id);
    const sub = await repo.findOneOrFail({ where: { id: subscriptionId }, lock: { mode: 'pessimistic_write' } });

    const { provider, reference } = input.payment;
    const applied = await m.getRepository(SubscriptionPeriod).findOne({ where: { provider, payment_reference: reference } });
    if (applied) {
      if (applied.subscription_id !== sub.id) throw SubscriptionErrors.paymentAlreadyApplied();
      return { applied: false, subscription: await this.reload(m, sub.id), replaced: null };
    }

    assertTransition(sub.status, 'active', 'activate');
    if (sub.status === 'active' && sub.end_date === null) throw SubscriptionErrors.noPeriodEnd();

    const now = input.now ?? new Date();
    const tz = this.config.env.APP_TIMEZONE;
    let start: Date;
    let end: Date;
    let anchor: Date;
    if (sub.status === 'pending_payment' || sub.status === 'trial') {
      // A trial paid early keeps its remaining days: the first paid period starts at the trial's end.
      start = input.periodStart ?? (sub.status === 'trial' && sub.end_date ? later(sub.end_date, now) : now);
      end = input.periodEnd ?? addBillingPeriods(start, 1, sub.billing_cycle, tz);
      anchor = start;
    } else {
      // Renewal (active or past_due): the new period continues the old one, on the anchor's grid.
      const currentEnd = sub.end_date as Date;
      anchor = sub.period_anchor ?? currentEnd;
      start = input.periodStart ?? currentEnd;
      end = input.periodEnd ?? nextPeriodEnd(anchor, currentEnd, sub.billing_cycle, tz);
    }
    if (end.getTime() <= start.getTime()) {
      throw new DomainError('invalid_period', 400, 'The paid period must end after it starts');
    }
    // Out-of-order provider events never shorten a period.
    const newEnd = sub.end_date && sub.status !== 'trial' ? later(sub.end_date, end) : end;

    let replaced: UserSubscription | null = null;
    const ctx: AuditContext = input.audit ?? (input.actorId ? { actorId: input.actorId } : SYSTEM);
    if (sub.status === 'pending_payment') {
      replaced = await repo.findOne({
        where: { user_id: sub.user_id, plan_type: sub.plan_type, status: In([...CURRENT_STATUSES]), id: Not(sub.id) },
        lock: { mode: 'pessimistic_write' },
      });
      if (replaced) await markReplaced(m, this.audit, replaced, ctx, now);
    }

    await m.getRepository(SubscriptionPeriod).insert({ subscription_id: sub.id, provider, payment_reference: reference, period_start: start, period_end: end });
    await repo.update(
      { id: sub.id },
      {
        status: 'active',
        start_date: sub.start_date ?? start,
        end_date: newEnd,
        period_anchor: anchor,
        payment_hold_until: null,
        ...(input.stripeSubscriptionId ? { stripe_subscription_id: input.stripeSubscriptionId } : {}),
      },
    );
    if (replaced) await repo.update({ id: replaced.id }, { replaced_by_id: sub.id });

    const event = sub.status === 'pending_payment' || sub.status === 'trial' ? 'subscription.activated' : 'subscription.renewed';
    await this.audit.record(
      subscriptionAudit(event, sub, ctx, {
        from: sub.status,
        payment_provider: provider,
        payment_reference: reference,
        period_start: start.toISOString(),
        period_end: end.toISOString(),
        end_date: newEnd.toISOString(),
        replaced_id: replaced?.id ?? null,
      }),
      m,
    );
    return { applied: true, subscription: await this.reload(m, sub.id), replaced: replaced ? await this.reload(m, replaced.id) : null };
  }

  private reload(m: EntityManager, id: string): Promise<UserSubscription> {
    return m.getRepository(UserSubscription).findOneOrFail({ where: { id }, relations: { plan: true } });
  }
}
