import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { WorkerHeartbeat } from '@torgovo/core';

/**
 * Everything that runs on a schedule: the worker process imports it, and so does the api
 * process when WORKER_ENABLED (the embedded default). Each job claims its work in
 * PostgreSQL (advisory locks, SKIP LOCKED), so any number of copies can run.
 */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [WorkerHeartbeat],
})
export class WorkerJobsModule {}
