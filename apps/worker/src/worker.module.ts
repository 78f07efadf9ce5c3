import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { PaymentsModule } from '@torgovo/payments';
import { BillingSchedulerModule } from '@torgovo/subscriptions';
import { TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from './worker-jobs.module';

@Module({
  imports: [CoreModule.forRoot({ appName: 'worker' }), UsersModule, TradingModule, WorkerJobsModule, PaymentsModule, BillingSchedulerModule],
})
export class WorkerModule {}
