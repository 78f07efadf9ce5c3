import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { SubscriptionsService } from '@torgovo/subscriptions';
import { UserErasedListener, UserHooks } from '@torgovo/users';

/**
 * An erased account keeps paying for nothing: its subscriptions end (and the provider stops
 * billing) in the erasure's transaction. Wired here, where erasure is offered, because the
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

  onUserErased(userId: string, adminId: string | null, manager: EntityManager): Promise<void> {
    return this.subscriptions.cancelAllForErasure(userId, adminId, manager);
  }
}
