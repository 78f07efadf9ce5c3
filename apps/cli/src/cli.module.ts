import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { ManagedBotsModule } from '@torgovo/managed-bots';
import { NotificationsModule } from '@torgovo/notifications';
import { UsersModule } from '@torgovo/users';
import { TradingModule } from '@torgovo/trading';

/**
 * CustomBotsModule registers the listeners that stop a deactivated user's bots, ManagedBotsModule the
 * one that ends their managed-bot follows (FollowUserListener), NotificationsModule the one that voids their
 * pending Telegram link code (TelegramLinkUserListener; it starts no job here). Against a running
 * embedded server the CLI goes through it (a second PGlite on the same DATA_DIR would lose its writes).
 */
@Module({ imports: [CoreModule.forRoot({ appName: 'cli', attachToRunningEmbedded: true }), UsersModule, TradingModule, CustomBotsModule, ManagedBotsModule, NotificationsModule] })
export class CliModule {}
