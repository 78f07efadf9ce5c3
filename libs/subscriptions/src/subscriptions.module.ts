import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PlansModule } from '@torgovo/plans';
import { BillingConfig } from './billing-config';
import { EntitlementsService } from './entitlements.service';
import { SubscriptionPeriod } from './entities/subscription-period.entity';
import { UserSubscription } from './entities/user-subscription.entity';
import { SubscriptionGuard } from './requires-subscription.guard';
import { SubscriptionActivationService } from './subscription-activation.service';
import { SubscriptionProviderSyncService } from './subscription-provider-sync.service';
import { SubscriptionHooks } from './subscription-hooks';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';

@Module({
  imports: [PlansModule, TypeOrmModule.forFeature([UserSubscription, SubscriptionPeriod])],
  controllers: [SubscriptionsController],
  providers: [
    { provide: BillingConfig, useFactory: () => BillingConfig.fromEnv(process.env) },
    SubscriptionsService,
    SubscriptionActivationService,
    SubscriptionProviderSyncService,
    EntitlementsService,
    SubscriptionGuard,
    SubscriptionHooks,
  ],
  exports: [
    BillingConfig,
    SubscriptionsService,
    SubscriptionActivationService,
    SubscriptionProviderSyncService,
    EntitlementsService,
    SubscriptionGuard,
    SubscriptionHooks,
    TypeOrmModule,
  ],
})
export class SubscriptionsModule {}
