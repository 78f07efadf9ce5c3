import { Injectable } from '@nestjs/common';
import { BotsService, toBotResponse } from '@torgovo/custom-bots';
import { PaymentsAccountService } from '@torgovo/payments';
import { SubscriptionsService, toSubscriptionResponse } from '@torgovo/subscriptions';
import { OrdersService, toOrderResponse } from '@torgovo/trading';
import type { PushedEventType, UserEvent } from '@torgovo/notifications';

/** What a pushed event carries: the resource as its REST endpoint shows it now, and its owner. */
export interface Snapshot {
  user_id: string;
  data: object;
}

export const snapshotKey = (type: string, id: string): string => `${type}:${id}`;

/**
 * Loads the current REST shape of the resources a batch of events is about, through each owning
 * lib's service: one query per type per batch, never one per event. The owner comes with it, so a
 * pushed event is checked against the socket's user twice (the event's user and the row's).
 */
@Injectable()
export class LiveSnapshots {
  constructor(
    private readonly orders: OrdersService,
    private readonly bots: BotsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly payments: PaymentsAccountService,
  ) {}

  async load(events: readonly UserEvent[]): Promise<Map<string, Snapshot>> {
    const ids = (type: PushedEventType): string[] => [...new Set(events.filter((e) => e.type === type).map((e) => e.entity_id))];
    const [orders, bots, subscriptions, payments] = await Promise.all([
      this.orders.findByIds(ids('order.updated')),
      this.bots.findByIds(ids('bot.updated')),
      this.subscriptions.findByIds(ids('subscription.updated')),
      this.payments.findByIds(ids('payment.updated')),
    ]);
    const out = new Map<string, Snapshot>();
    for (const o of orders) out.set(snapshotKey('order.updated', o.id), { user_id: o.user_id, data: toOrderResponse(o) });
    for (const b of bots) out.set(snapshotKey('bot.updated', b.bot.id), { user_id: b.bot.user_id, data: toBotResponse(b.bot, b.counters) });
    for (const s of subscriptions) out.set(snapshotKey('subscription.updated', s.id), { user_id: s.user_id, data: toSubscriptionResponse(s) });
    for (const p of payments) out.set(snapshotKey('payment.updated', p.response.payment_id), { user_id: p.user_id, data: p.response });
    return out;
  }
}
