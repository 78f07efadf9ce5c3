import { redactUrl } from './logging.module';

describe('redactUrl', () => {
  it('hides webhook secrets and token query parameters', () => {
    expect(redactUrl('/api/custom-bot/webhook/receive/abcDEF123_-x')).toBe('/api/custom-bot/webhook/receive/[redacted]');
    expect(redactUrl('/api/x?token=abc&y=1')).toBe('/api/x?token=[redacted]&y=1');
    expect(redactUrl('/api/users/me')).toBe('/api/users/me');
    expect(redactUrl('/api/x?access_token=a&refresh_token=b&api_key=c&passphrase=d&page=2')).toBe(
      '/api/x?access_token=[redacted]&refresh_token=[redacted]&api_key=[redacted]&passphrase=[redacted]&page=2',
    );
  });
});
