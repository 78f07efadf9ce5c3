import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { SubscriptionEndedEvent, SubscriptionEndListener, SubscriptionHooks } from '@torgovo/subscriptions';

const ENQUEUE_SQL = `
  INSERT INTO stripe_cancel_outbox (stripe_subscription_id, subscription_id, reason)
  SELECT l.stripe_subscription_id, l.subscription_id, e.reason
    FROM unnest($1::uuid[], $2::text[]) AS e(subscription_id, reason)
    JOIN stripe_subscriptions l ON l.subscription_id = e.subscription_id
   WHERE l.status IS NULL OR l.status NOT IN ('canceled', 'incomplete_expired')
  ON CONFLICT (stripe_subscription_id) DO NOTHING`;

/**
 * Our side ended subscriptions (the billing sweep, mostly): the Stripe subscriptions still billing
 * them are queued for cancellation in the same transaction, set-wise, without calling Stripe;
 * StripeCancelOutboxWorker cancels them after the commit. One known to have ended at Stripe is not queued.
 */
@Injectable()
export class StripeCancelOutboxListener implements SubscriptionEndListener, OnModuleInit {
  constructor(private readonly hooks: SubscriptionHooks) {}

  onModuleInit(): void {
    this.hooks.addEndListener(this);
  }

  async onSubscriptionsEnded(events: SubscriptionEndedEvent[], manager: EntityManager): Promise<void> {
    if (events.length === 0) return;
    await manager.query(ENQUEUE_SQL, [events.map((e) => e.subscription_id), events.map((e) => e.reason)]);
  }
}
