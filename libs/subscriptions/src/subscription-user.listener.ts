import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserErasedListener, UserHooks } from '@torgovo/users';
import { SubscriptionsService } from './subscriptions.service';

/** An erased account keeps paying for nothing: its subscriptions end (and the provider stops billing) in the erasure's transaction. */
@Injectable()
export class SubscriptionUserListener implements UserErasedListener, OnModuleInit {
  constructor(
    private readonly hooks: UserHooks,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  onModuleInit(): void {
    this.hooks.addErasureListener(this);
  }

  onUserErased(userId: string, adminId: string | null, manager: EntityManager): Promise<void> {
    return this.subscriptions.cancelAllForErasure(userId, adminId, manager);
  }
}
