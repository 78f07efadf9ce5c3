import { Module } from '@nestjs/common';
import { BillingScheduler } from './billing-scheduler';
import { BillingSweeps } from './billing-sweeps';
import { SubscriptionsModule } from './subscriptions.module';

/**
 * The worker's part of subscriptions. The host imports ScheduleModule.forRoot() once
 * (WorkerJobsModule does; a second forRoot here could register timers twice), and
 * PaymentsModule beside this so renewal requests have a RenewalRequester, and the bots
 * modules so expiry stops bots.
 */
@Module({
  imports: [SubscriptionsModule],
  providers: [BillingSweeps, BillingScheduler],
  exports: [BillingSweeps, BillingScheduler],
})
export class BillingSchedulerModule {}
