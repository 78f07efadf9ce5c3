import { redactUrl, redactUrlsInText } from './logging.module';

describe('redactUrl', () => {
  it('hides webhook secrets and token query parameters', () => {
    expect(redactUrl('/api/custom-bot/webhook/receive/abcDEF123_-x')).toBe('/api/custom-bot/webhook/receive/[redacted]');
    expect(redactUrl('/api/x?token=abc&y=1')).toBe('/api/x?token=[redacted]&y=1');
    expect(redactUrl('/api/users/me')).toBe('/api/users/me');
    expect(redactUrl('/api/x?access_token=a&refresh_token=b&api_key=c&passphrase=d&page=2')).toBe(
      '/api/x?access_token=[redacted]&refresh_token=[redacted]&api_key=[redacted]&passphrase=[redacted]&page=2',
    );
  });

  it('hides the secret of a receive URL in any shape a client sends', () => {
    const secret = 'abcDEF123_-xyzXYZ0987654321abcdefABCDEF01234';
    for (const url of [
      `/api/custom-bot/webhook/receive/${secret}/`,
      `/API/CUSTOM-BOT/WEBHOOK/RECEIVE/${secret}`,
      `/api/custom-bot/webhook/receive%2F${secret}`,
      `/api/custom-bot//webhook/receive/${secret}/extra?x=1`,
      `/api/custom-bot/webhook/rec%65ive/${secret}`,
    ]) {
      expect(redactUrl(url)).not.toContain(secret);
      expect(redactUrl(url)).toMatch(/receive\/\[redacted\]$/i);
    }
    expect(redactUrl('/api/custom-bot/webhooks/123/events')).toBe('/api/custom-bot/webhooks/123/events');
  });

  it('masks receive URLs quoted in free text (router errors, stacks)', () => {
    const secret = 'abcDEF123_-xyzXYZ0987654321abcdefABCDEF01234';
    expect(redactUrlsInText(`Cannot GET /api/custom-bot/webhook/receive/${secret}/ here`)).toBe('Cannot GET /api/custom-bot/webhook/receive/[redacted] here');
    expect(redactUrlsInText(`Cannot HEAD /API/Custom-Bot/Webhook/Receive/${secret}`)).not.toContain(secret);
  });
});
