import { Module } from '@nestjs/common';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { UsersModule } from '@torgovo/users';
import { AdminUsersController } from './admin-users.controller';
import { AdminUsersService } from './admin-users.service';
import { ErasureListener } from './erasure-listener';

/** The back office (👑 paths under /api/admin): reads the other libs through their services and fragments. */
@Module({
  imports: [UsersModule, SubscriptionsModule, CustomBotsModule],
  controllers: [AdminUsersController],
  providers: [AdminUsersService, ErasureListener],
})
export class AdminModule {}
