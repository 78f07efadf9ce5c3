import { Global, Module } from '@nestjs/common';
import { SUBSCRIPTIONS_READER, SubscriptionsReader } from '@torgovo/core';
import { SubscriptionsModule, SubscriptionsService, toSubscriptionResponse } from '@torgovo/subscriptions';

/**
 * GET /users/me lists the user's subscriptions; users cannot import subscriptions
 * (it depends on users), so the app composes the two through core's SUBSCRIPTIONS_READER.
 */
@Global()
@Module({
  imports: [SubscriptionsModule],
  providers: [
    {
      provide: SUBSCRIPTIONS_READER,
      inject: [SubscriptionsService],
      useFactory: (subs: SubscriptionsService): SubscriptionsReader => ({
        async listForUser(userId: string) {
          const { current, pending } = await subs.current(userId);
          return [...Object.values(current), ...Object.values(pending)].filter((s) => s !== undefined).map(toSubscriptionResponse);
        },
      }),
    },
  ],
  exports: [SUBSCRIPTIONS_READER],
})
export class ProfileModule {}
