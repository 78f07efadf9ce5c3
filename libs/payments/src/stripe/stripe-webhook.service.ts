import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type Stripe from 'stripe';
import { AuditService } from '@torgovo/core';
import { PaymentErrors } from '../errors';
import { STRIPE_CHARGE_EVENTS, StripeChargeEvents } from './stripe-charge-events';
import { EventContext, HandleResult, StripeEventHandlers } from './stripe-event-handlers';
import { STRIPE_SIGNATURE_TOLERANCE_SECONDS, StripeGateway } from './stripe-gateway';
import { fromUnix, isStripeEvent } from './stripe-objects';

export const HANDLED_STRIPE_EVENTS: readonly string[] = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  ...STRIPE_CHARGE_EVENTS,
];

export interface WebhookRequestMeta {
  ip: string | null;
  user_agent: string | null;
}

const CLAIM_SQL = `
  INSERT INTO processed_events (provider, event_id, type, event_created_at, received_at, outcome)
  VALUES ('stripe', $1, $2, $3, now(), 'processing')
  ON CONFLICT (provider, event_id) DO NOTHING
  RETURNING id`;

@Injectable()
export class StripeWebhookService {
  private readonly logger = new Logger(StripeWebhookService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateway: StripeGateway,
    private readonly handlers: StripeEventHandlers,
    private readonly charges: StripeChargeEvents,
    private readonly audit: AuditService,
  ) {}

  /**
   * Verify, then claim the event id and apply it in ONE transaction: a concurrent delivery of
   * the same event waits on the unique index and finds it claimed; a crash mid-way rolls the
   * claim back with the change, so Stripe's retry redoes it. Nothing is written before the
   * signature is verified.
   */
  async receive(rawBody: Buffer | undefined, signature: string | undefined, meta: WebhookRequestMeta): Promise<HandleResult> {
    const stripe = this.gateway.client;
    let event: Stripe.Event;
    try {
      if (!rawBody || !signature) throw new Error('missing raw body or Stripe-Signature header');
      event = stripe.webhooks.constructEvent(rawBody, signature, this.gateway.webhookSecret, STRIPE_SIGNATURE_TOLERANCE_SECONDS);
    } catch (err) {
      const reason = err instanceof Error ? err.message.slice(0, 160) : 'invalid';
      this.logger.warn({ ip: meta.ip, reason }, 'Stripe webhook rejected: signature not verified');
      throw PaymentErrors.invalidSignature();
    }
    // Signed but not an event object (`[]`, a truncated body): 400 before anything is written.
    if (!isStripeEvent(event)) {
      this.logger.warn({ ip: meta.ip }, 'Stripe webhook rejected: the signed body is not an event object');
      throw PaymentErrors.invalidEvent();
    }

    const ctx: EventContext = { eventId: event.id, created: fromUnix(event.created), ip: meta.ip, userAgent: meta.user_agent };
    const result = await this.ds.transaction(async (m) => {
      const claimed = (await m.query(CLAIM_SQL, [event.id, event.type, ctx.created])) as Array<{ id: string }>;
      if (claimed.length === 0) return { outcome: 'duplicate', userId: null } satisfies HandleResult;
      const handled = await this.apply(event, ctx, m);
      await m.query('UPDATE processed_events SET outcome = $2, user_id = $3 WHERE id = $1', [claimed[0].id, handled.outcome, handled.userId]);
      await this.audit.record(
        {
          event_type: 'payment.stripe_event',
          user_id: handled.userId,
          data: { event_id: event.id, type: event.type, outcome: handled.outcome, ...(handled.data ?? {}) },
          ip: meta.ip,
          user_agent: meta.user_agent,
        },
        m,
      );
      return handled;
    });
    this.logger.log({ event_id: event.id, type: event.type, outcome: result.outcome, user_id: result.userId }, 'Stripe event processed');
    return result;
  }

  private apply(event: Stripe.Event, ctx: EventContext, m: EntityManager): Promise<HandleResult> {
    if (!HANDLED_STRIPE_EVENTS.includes(event.type)) return Promise.resolve({ outcome: 'ignored_type', userId: null });
    return STRIPE_CHARGE_EVENTS.includes(event.type) ? this.charges.apply(event, ctx, m) : this.handlers.apply(event, ctx, m);
  }
}
