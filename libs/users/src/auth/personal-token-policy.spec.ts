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
    ['POST', '/api/custom-bot/webhook/generate', 'trade', 'ok'],
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
