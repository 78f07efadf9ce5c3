import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import { UserDeactivatedListener, optionalUserHooks } from '@torgovo/users';
import { forgetPendingTelegramCode } from './telegram-links';

/**
 * A deactivated account's pending Telegram link code is voided in the deactivation's transaction
 * (an erasure of an active account deactivates it too; the erasure then deletes the link row).
 * UserHooks is looked up, not injected: this module does not import UsersModule (hosts without
 * trading load notifications), and where UsersModule is absent nothing deactivates users.
 */
@Injectable()
export class TelegramLinkUserListener implements UserDeactivatedListener, OnModuleInit {
  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    optionalUserHooks(this.moduleRef)?.addDeactivationListener(this);
  }

  async onUserDeactivated(userId: string, manager: EntityManager): Promise<void> {
    await forgetPendingTelegramCode(manager, userId);
  }
}
