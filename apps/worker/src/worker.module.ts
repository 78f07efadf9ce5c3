import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from './worker-jobs.module';

@Module({
  // CustomBotsModule registers the listener that stops bots when the billing sweep expires a subscription.
  imports: [CoreModule.forRoot({ appName: 'worker' }), UsersModule, TradingModule, CustomBotsModule, WorkerJobsModule],
})
export class WorkerModule {}
