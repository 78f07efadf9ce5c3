import { Global, Module } from '@nestjs/common';
import { API_ACCESS_POLICY, ApiAccessPolicy, SUBSCRIPTIONS_READER, SubscriptionsReader } from '@torgovo/core';
import { EntitlementsService, SubscriptionsModule, SubscriptionsService, toSubscriptionResponse } from '@torgovo/subscriptions';

/**
 * Also API_ACCESS_POLICY: whether a personal access token may be used (the plan includes the API).
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
    {
      // Personal access tokens work while the user's current custom-bot plan (with its grace) includes the API.
      provide: API_ACCESS_POLICY,
      inject: [EntitlementsService],
      useFactory: (entitlements: EntitlementsService): ApiAccessPolicy => {
        const allowedAmong = async (userIds: readonly string[]) => {
          const found = await entitlements.findMany(userIds, 'custom_bot');
          return new Set([...found].filter(([, ent]) => ent.api_access === true).map(([userId]) => userId));
        };
        return { allowedAmong, allows: async (userId: string) => (await allowedAmong([userId])).has(userId) };
      },
    },
  ],
  exports: [SUBSCRIPTIONS_READER, API_ACCESS_POLICY],
})
export class ProfileModule {}
