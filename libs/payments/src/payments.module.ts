import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { Payment } from './entities/payment.entity';
import { ProcessedEvent } from './entities/processed-event.entity';
import { StripeSubscriptionLink } from './entities/stripe-subscription-link.entity';
import { PaymentsAccountService } from './payments-account.service';
import { PaymentsController } from './payments.controller';
import { RenewalRequestService } from './renewal-request.service';
import { StripeBillingControl } from './stripe/stripe-billing-control';
import { StripeCancelOutboxConfig } from './stripe/stripe-cancel-outbox.config';
import { StripeCheckoutService } from './stripe/stripe-checkout.service';
import { StripeEventHandlers } from './stripe/stripe-event-handlers';
import { StripeGateway } from './stripe/stripe-gateway';
import { StripePaymentRecords } from './stripe/stripe-payment-records';
import { StripeObligations } from './stripe/stripe-obligations';
import { StripePricePolicy } from './stripe/stripe-price-plans';
import { StripeWebhookService } from './stripe/stripe-webhook.service';
import { StripeWebhookController } from './stripe-webhook.controller';
import { processedEventsRetention, stripeCancelOutboxRetention } from './processed-events-retention';

/**
 * Payments of every provider; Stripe (card) here, crypto in its own issue. The worker job that
 * works the Stripe cancellation outbox (StripeCancelOutboxWorker) is registered by the host's
 * WorkerJobsModule, with the other jobs.
 */
@Module({
  imports: [SubscriptionsModule, TypeOrmModule.forFeature([Payment, ProcessedEvent, StripeSubscriptionLink])],
  controllers: [PaymentsController, StripeWebhookController],
  providers: [
    { provide: StripeCancelOutboxConfig, useFactory: () => StripeCancelOutboxConfig.fromEnv(process.env) },
    RenewalRequestService,
    StripeGateway,
    StripeBillingControl,
    StripeCheckoutService,
    StripeEventHandlers,
    StripePaymentRecords,
    StripeWebhookService,
    StripeObligations,
    StripePricePolicy,
    PaymentsAccountService,
    processedEventsRetention,
    stripeCancelOutboxRetention,
  ],
  exports: [RenewalRequestService, StripeGateway, StripeBillingControl, StripeCancelOutboxConfig, StripeCheckoutService, PaymentsAccountService, TypeOrmModule],
})
export class PaymentsModule {}
