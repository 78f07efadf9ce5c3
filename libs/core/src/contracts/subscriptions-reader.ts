/**
 * GET /users/me lists the user's subscriptions, but subscriptions depend on users:
 * the subscriptions lib provides this token and users reads through it.
 */
export const SUBSCRIPTIONS_READER = Symbol('SUBSCRIPTIONS_READER');

export interface SubscriptionsReader {
  listForUser(userId: string): Promise<unknown[]>;
}
