import { RetentionConfig, retentionPolicy } from '@torgovo/core';

/**
 * Processed provider events exist to drop redeliveries; Stripe retries for 3 days and its
 * signatures are refused after 5 minutes, so rows older than PROCESSED_EVENT_RETENTION_DAYS can
 * go. Payments and audit rows are kept.
 */
export const processedEventsRetention = retentionPolicy({
  name: 'processed_events',
  sql: `DELETE FROM processed_events WHERE id IN (SELECT id FROM processed_events WHERE received_at < $1 LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.PROCESSED_EVENT_RETENTION_DAYS),
});

/** Cancellations the outbox job finished (done_at set) are kept as long as processed events, then go. */
export const stripeCancelOutboxRetention = retentionPolicy({
  name: 'stripe_cancel_outbox_done',
  sql: `DELETE FROM stripe_cancel_outbox WHERE stripe_subscription_id IN (
          SELECT stripe_subscription_id FROM stripe_cancel_outbox WHERE done_at IS NOT NULL AND done_at < $1 LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.PROCESSED_EVENT_RETENTION_DAYS),
});

/**
 * Erased accounts' Stripe customers deleted at Stripe (done_at set): kept as long as processed events
 * (Stripe's late events for the customer still find its user meanwhile: Stripe retries for 3 days), then go.
 */
export const stripeCustomerDeletionsRetention = retentionPolicy({
  name: 'stripe_customer_deletions_done',
  sql: `DELETE FROM stripe_customer_deletions WHERE stripe_customer_id IN (
          SELECT stripe_customer_id FROM stripe_customer_deletions WHERE done_at IS NOT NULL AND done_at < $1 LIMIT $2)`,
  cutoff: (now, config) => RetentionConfig.before(now, config.PROCESSED_EVENT_RETENTION_DAYS),
});
