import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { ManagedBotsModule } from '@torgovo/managed-bots';
import { TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from './worker-jobs.module';

@Module({
  // CustomBotsModule registers the listener that stops bots when the billing sweep expires a subscription.
  // ManagedBotsModule tells the placement rule whether a follower's order may still go.
  imports: [CoreModule.forRoot({ appName: 'worker' }), UsersModule, TradingModule, CustomBotsModule, ManagedBotsModule, WorkerJobsModule],
})
export class WorkerModule {}
