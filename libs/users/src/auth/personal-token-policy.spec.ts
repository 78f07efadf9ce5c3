import { assertTokenMayCall } from './personal-token-policy';

describe('assertTokenMayCall', () => {
  const code = (method: string, url: string, scope: 'read' | 'trade') => {
    try {
      assertTokenMayCall(method, url, scope);
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };

  it.each([
    ['GET', '/api/bots?page=2', 'read', 'ok'],
    ['GET', '/api/users/me', 'read', 'ok'],
    ['POST', '/api/bots', 'read', 'token_scope'],
    ['POST', '/api/bots', 'trade', 'ok'],
    ['POST', '/api/bots/1/stop', 'trade', 'ok'],
    ['POST', '/api/botsx', 'trade', 'session_required'],
    // A webhook secret is a credential that outlives the token: minted and rotated with a login only.
    ['POST', '/api/custom-bot/webhook/generate', 'trade', 'session_required'],
    ['POST', '/api/custom-bot/webhook/generate', 'read', 'session_required'],
    ['POST', '/api/custom-bot/webhooks/:id/rotate', 'trade', 'session_required'],
    ['POST', '/api/custom-bot/webhooks/0b6f8e52-5d0e-4c3f-9d8e-2f3a1c4b5d6e/rotate', 'trade', 'session_required'],
    ['POST', '/api/custom-bot/webhooks/x/rotate/', 'trade', 'session_required'],
    ['GET', '/api/custom-bot/webhooks', 'trade', 'ok'],
    ['DELETE', '/api/custom-bot/webhooks/:id', 'trade', 'ok'],
    ['GET', '/api/custom-bot/webhooks/:id/events', 'read', 'ok'],
    ['POST', '/api/orders/1/cancel', 'trade', 'ok'],
    ['POST', '/api/subscriptions', 'trade', 'session_required'],
    ['POST', '/api/payments/create-checkout', 'trade', 'session_required'],
    ['GET', '/api/users/me/tokens', 'trade', 'session_required'],
    ['DELETE', '/api/users/me/exchange', 'trade', 'session_required'],
    ['POST', '/api/auth/logout', 'trade', 'session_required'],
    ['GET', '/api/admin/users', 'read', 'session_required'],
  ] as const)('%s %s with a %s token → %s', (method, url, scope, expected) => {
    expect(code(method, url, scope)).toBe(expected);
  });
});
