import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { SubscriptionEndedEvent, SubscriptionEndListener, SubscriptionHooks } from '@torgovo/subscriptions';
import { lockManyUsersBots } from './bots.service';

/** When a custom_bot subscription ends, the user's running bots stop with the reason, in the same transaction. */
@Injectable()
export class BotExpiryListener implements SubscriptionEndListener, OnModuleInit {
  constructor(private readonly hooks: SubscriptionHooks) {}

  onModuleInit(): void {
    this.hooks.addEndListener(this);
  }

  async onSubscriptionsEnded(events: SubscriptionEndedEvent[], manager: EntityManager): Promise<void> {
    const ended = events.filter((e) => e.plan_type === 'custom_bot');
    if (ended.length === 0) return;
    // Each user's bots locked first (as a start or create holds them from its entitlement read to its
    // write): a start under way lands before this stop, and one that follows sees the subscription ended.
    await lockManyUsersBots(manager, ended.map((e) => e.user_id));
    // One UPDATE for the whole batch; a user listed twice takes the first reason.
    await manager.query(
      `UPDATE bots b SET status = 'stopped', stop_reason = 'subscription_' || e.reason, updated_at = now()
         FROM (SELECT DISTINCT ON (user_id) user_id, reason FROM unnest($1::uuid[], $2::text[]) AS t(user_id, reason)) e
        WHERE b.user_id = e.user_id AND b.status = 'running' AND b.deleted_at IS NULL`,
      [ended.map((e) => e.user_id), ended.map((e) => e.reason)],
    );
  }
}
