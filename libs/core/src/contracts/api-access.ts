/**
 * Whether a user's plan includes the REST API with personal access tokens. Users authenticate the
 * tokens but cannot import subscriptions (it depends on users): the app provides this from the
 * subscriptions lib, and the token check asks it on every request, so a downgrade takes effect at once.
 */
export const API_ACCESS_POLICY = Symbol('API_ACCESS_POLICY');

export interface ApiAccessPolicy {
  allows(userId: string): Promise<boolean>;
  /** allows() for many users in one statement (the live-updates socket re-checks its recipients per event). */
  allowedAmong(userIds: readonly string[]): Promise<Set<string>>;
}
