import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { BillingCycle, PlanType } from '@torgovo/plans';
import { DomainError } from '@torgovo/core';
import type { UserSubscription } from './entities/user-subscription.entity';
import type { AuditContext } from './subscription-audit';
import type { EndReason } from './subscription-states';

/** A subscription that left the current states for good (expired or cancelled, not replaced). */
export interface SubscriptionEndedEvent {
  subscription_id: string;
  user_id: string;
  plan_type: PlanType;
  reason: EndReason;
}

/**
 * Implemented by libs that must react when a user loses a plan (custom-bots and
 * managed-bots stop the user's bots with the reason). Called once per batch, inside the
 * transaction that ended the subscriptions: write set-wise with `manager` so the bots
 * stop if and only if the subscriptions end. Throwing rolls the batch back (retried next tick).
 */
export interface SubscriptionEndListener {
  onSubscriptionsEnded(events: SubscriptionEndedEvent[], manager: EntityManager): Promise<void>;
}

export interface RenewalRequestItem {
  subscription_id: string;
  user_id: string;
  plan_id: string;
  billing_cycle: BillingCycle;
  /** Price of one period, decimal string (USD). */
  amount_usd: string;
  /** The period being paid for: starts at the current end_date. */
  period_start: Date;
  period_end: Date;
  /** When the subscription expires if this stays unpaid. */
  due_at: Date;
}

/**
 * Implemented by libs/payments (dependencies point payments → subscriptions, so the
 * scheduler reaches it through this interface). Must be idempotent per
 * (subscription_id, period_end) and set-wise: one INSERT per call.
 */
export interface RenewalRequester {
  requestRenewals(items: RenewalRequestItem[], manager: EntityManager): Promise<void>;
}

/**
 * Implemented by libs/payments: mirrors a user's cancel choices to the payment provider
 * (Stripe renews its own subscriptions). Called inside the transaction that changes the
 * row, before commit: throwing rolls the change back, so we never show "cancelled" while
 * the provider keeps charging. A late provider webhook reconciles the rare commit failure.
 * Read and write through `manager` only (a second connection inside the open transaction
 * deadlocks on the embedded PGlite).
 */
export interface ProviderSubscriptionMirror {
  /** The provider's one "ends at period end" flag: cancel_at_period_end or auto_renew=false (endsAtPeriodEnd). */
  setCancelAtPeriodEnd(sub: UserSubscription, cancelAtPeriodEnd: boolean, manager: EntityManager, ctx: AuditContext): Promise<void>;
  cancelNow(sub: UserSubscription, manager: EntityManager, ctx: AuditContext): Promise<void>;
}

/**
 * Where other libs plug into subscription events. Nest has no multi-providers, and the
 * listeners live in libs that depend on this one, so they register themselves here in
 * onModuleInit instead of being injected (which would invert the dependency).
 */
@Injectable()
export class SubscriptionHooks {
  private readonly logger = new Logger(SubscriptionHooks.name);
  private readonly endListeners: SubscriptionEndListener[] = [];
  private renewalRequester?: RenewalRequester;
  private providerMirror?: ProviderSubscriptionMirror;

  addEndListener(listener: SubscriptionEndListener): void {
    this.endListeners.push(listener);
  }

  setRenewalRequester(requester: RenewalRequester): void {
    if (this.renewalRequester && this.renewalRequester !== requester) {
      throw new Error('A RenewalRequester is already registered');
    }
    this.renewalRequester = requester;
  }

  get renewals(): RenewalRequester | undefined {
    return this.renewalRequester;
  }

  setProviderMirror(mirror: ProviderSubscriptionMirror): void {
    if (this.providerMirror && this.providerMirror !== mirror) throw new Error('A ProviderSubscriptionMirror is already registered');
    this.providerMirror = mirror;
  }

  /** Only card subscriptions live at a provider; without a registered mirror one that does cannot be changed safely. */
  async mirrorCancelAtPeriodEnd(sub: UserSubscription, cancelAtPeriodEnd: boolean, manager: EntityManager, ctx: AuditContext): Promise<void> {
    const mirror = this.mirrorFor(sub);
    if (mirror) await mirror.setCancelAtPeriodEnd(sub, cancelAtPeriodEnd, manager, ctx);
  }

  async mirrorCancelNow(sub: UserSubscription, manager: EntityManager, ctx: AuditContext): Promise<void> {
    const mirror = this.mirrorFor(sub);
    if (mirror) await mirror.cancelNow(sub, manager, ctx);
  }

  private mirrorFor(sub: UserSubscription): ProviderSubscriptionMirror | undefined {
    if (sub.payment_method !== 'stripe') return undefined;
    if (!this.providerMirror && sub.stripe_subscription_id) {
      throw new DomainError('payments_not_configured', 503, 'Card payments are not available right now');
    }
    return this.providerMirror;
  }

  async notifyEnded(events: SubscriptionEndedEvent[], manager: EntityManager): Promise<void> {
    if (events.length === 0) return;
    for (const listener of this.endListeners) {
      await listener.onSubscriptionsEnded(events, manager);
    }
    this.logger.log({ count: events.length }, 'Subscription end listeners notified');
  }
}
