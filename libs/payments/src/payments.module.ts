import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { Payment } from './entities/payment.entity';
import { RenewalRequestService } from './renewal-request.service';

/** Minimal for now: the Payment entity and renewal requests. The Stripe and crypto issues extend it. */
@Module({
  imports: [SubscriptionsModule, TypeOrmModule.forFeature([Payment])],
  providers: [RenewalRequestService],
  exports: [RenewalRequestService, TypeOrmModule],
})
export class PaymentsModule {}
