import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { TradingModule } from '@torgovo/trading';
import { UsersModule } from '@torgovo/users';
import { WorkerJobsModule } from './worker-jobs.module';

@Module({
  imports: [CoreModule.forRoot({ appName: 'worker' }), UsersModule, TradingModule, WorkerJobsModule],
})
export class WorkerModule {}
