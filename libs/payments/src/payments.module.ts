import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationsModule } from '@torgovo/notifications';
import { SubscriptionsModule } from '@torgovo/subscriptions';
import { CoinGateCallbackBodyHooks } from './coingate/coingate-callback-body.hooks';
import { CoinGateClient } from './coingate/coingate-client';
import { CoinGatePaymentsService } from './coingate/coingate-payments.service';
import { CryptoPaymentsConfig } from './crypto/crypto-config';
import { CryptoPaymentCompletion } from './crypto/crypto-payment-completion';
import { CryptoPaymentsService } from './crypto/crypto-payments.service';
import { DepositAddressCache } from './crypto/deposit-address-cache';
import { OkxAdminClient } from './crypto/okx-admin-client';
import { PaymentNotifier } from './crypto/payment-notifier';
import { PaymentTargets } from './crypto/payment-target';
import { UnmatchedDepositsService } from './crypto/unmatched-deposits.service';
import { CryptoPaymentsController, UnmatchedDepositsController } from './crypto-payments.controller';
import { CryptoDeposit } from './entities/crypto-deposit.entity';
import { Payment } from './entities/payment.entity';
import { ProcessedEvent } from './entities/processed-event.entity';
import { StripeSubscriptionLink } from './entities/stripe-subscription-link.entity';
import { PaymentsAccountService } from './payments-account.service';
import { PaymentsController } from './payments.controller';
import { RenewalRequestService } from './renewal-request.service';
import { PaymentRefunds } from './payment-refunds';
import { StripeBillingControl } from './stripe/stripe-billing-control';
import { StripeChargeEvents } from './stripe/stripe-charge-events';
import { StripeCancelOutboxConfig } from './stripe/stripe-cancel-outbox.config';
import { StripeCheckoutService } from './stripe/stripe-checkout.service';
import { StripeCustomerDeletions } from './stripe/stripe-customer-deletions';
import { StripeEventHandlers } from './stripe/stripe-event-handlers';
import { StripeGateway } from './stripe/stripe-gateway';
import { StripePaymentRecords } from './stripe/stripe-payment-records';
import { StripeObligations } from './stripe/stripe-obligations';
import { StripePricePolicy } from './stripe/stripe-price-plans';
import { StripeWebhookService } from './stripe/stripe-webhook.service';
import { StripeWebhookController } from './stripe-webhook.controller';
import { processedEventsRetention, stripeCancelOutboxRetention, stripeCustomerDeletionsRetention } from './processed-events-retention';

/**
 * Payments of every provider: Stripe (card), OKX deposits and CoinGate (crypto). The worker jobs
 * (StripeCancelOutboxWorker, PaymentChecker) are registered by the host's WorkerJobsModule, with
 * the other jobs.
 */
@Module({
  imports: [SubscriptionsModule, NotificationsModule, TypeOrmModule.forFeature([Payment, ProcessedEvent, StripeSubscriptionLink, CryptoDeposit])],
  controllers: [PaymentsController, StripeWebhookController, CryptoPaymentsController, UnmatchedDepositsController],
  providers: [
    { provide: StripeCancelOutboxConfig, useFactory: () => StripeCancelOutboxConfig.fromEnv(process.env) },
    RenewalRequestService,
    StripeGateway,
    StripeBillingControl,
    StripeCheckoutService,
    StripeCustomerDeletions,
    StripeEventHandlers,
    StripeChargeEvents,
    PaymentRefunds,
    StripePaymentRecords,
    StripeWebhookService,
    StripeObligations,
    StripePricePolicy,
    PaymentsAccountService,
    processedEventsRetention,
    stripeCancelOutboxRetention,
    stripeCustomerDeletionsRetention,
    // Crypto
    { provide: CryptoPaymentsConfig, useFactory: () => CryptoPaymentsConfig.fromEnv(process.env) },
    OkxAdminClient,
    DepositAddressCache,
    PaymentTargets,
    PaymentNotifier,
    CryptoPaymentCompletion,
    CryptoPaymentsService,
    UnmatchedDepositsService,
    CoinGateClient,
    CoinGatePaymentsService,
    CoinGateCallbackBodyHooks,
  ],
  exports: [
    RenewalRequestService,
    StripeGateway,
    StripeBillingControl,
    StripeCancelOutboxConfig,
    StripeCheckoutService,
    // The Stripe outbox job's second queue (the job is registered by the host's WorkerJobsModule).
    StripeCustomerDeletions,
    PaymentsAccountService,
    // What the PaymentChecker job needs (registered by the host's WorkerJobsModule).
    CryptoPaymentsConfig,
    OkxAdminClient,
    CryptoPaymentCompletion,
    PaymentNotifier,
    NotificationsModule,
    TypeOrmModule,
  ],
})
export class PaymentsModule {}
