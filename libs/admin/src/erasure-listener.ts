import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { forgetNotificationChannels } from '@torgovo/notifications';
import { forgetStripeCustomer } from '@torgovo/payments';
import { SubscriptionsService } from '@torgovo/subscriptions';
import { UserErasedListener, UserHooks } from '@torgovo/users';

/**
 * An erased account keeps paying for nothing: its subscriptions end (and the provider stops
 * billing) in the erasure's transaction, its Stripe customer (email and name at Stripe) is queued
 * for deletion there by the Stripe outbox job, and its notification channels (Telegram chat,
 * preferences) are deleted. Wired here, where erasure is offered, because the
 * subscriptions module does not import users (processes without trading could not build it).
 */
@Injectable()
export class ErasureListener implements UserErasedListener, OnModuleInit {
  constructor(
    private readonly hooks: UserHooks,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  onModuleInit(): void {
    this.hooks.addErasureListener(this);
  }

  async onUserErased(userId: string, adminId: string | null, manager: EntityManager): Promise<void> {
    await this.subscriptions.cancelAllForErasure(userId, adminId, manager);
    // Deleted at Stripe after the commit (the Stripe outbox job), retried until Stripe answers: the erasure never waits on it.
    await forgetStripeCustomer(manager, userId);
    // The Telegram chat and the notification preferences are personal data too.
    await forgetNotificationChannels(manager, userId);
  }
}
