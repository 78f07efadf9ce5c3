import { Module } from '@nestjs/common';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { UsersModule } from '@torgovo/users';
import { AdminRecordsController } from './admin-records.controller';
import { AdminRecordsService } from './admin-records.service';
import { AdminStatsController } from './admin-stats.controller';
import { AdminStatsService } from './admin-stats.service';
import { AdminUsersController } from './admin-users.controller';
import { AdminUsersService } from './admin-users.service';
import { ErasureListener } from './erasure-listener';

/**
 * The back office (👑 paths under /api/admin): reads the other libs through their services and statements.
 * OrderStatsService comes from the global TradingModule.
 */
@Module({
  imports: [UsersModule, SubscriptionsModule, CustomBotsModule],
  controllers: [AdminUsersController, AdminStatsController, AdminRecordsController],
  providers: [AdminUsersService, AdminStatsService, AdminRecordsService, ErasureListener],
})
export class AdminModule {}
