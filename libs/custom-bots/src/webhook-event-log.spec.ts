import { bodyForLog, MAX_LOGGED_BODY_BYTES } from './webhook-event-log';

describe('bodyForLog', () => {
  it('masks the secret, drops NULs and keeps at most 10 KB', () => {
    expect(bodyForLog(Buffer.from('{"action":"buy","secret" : "s3cr\\"et"}'))).toBe('{"action":"buy","secret" : "[redacted]"}');
    expect(bodyForLog(Buffer.from('a\u0000b'))).toBe('ab');
    expect(bodyForLog(Buffer.alloc(MAX_LOGGED_BODY_BYTES * 3, 'x'))).toHaveLength(MAX_LOGGED_BODY_BYTES);
    expect(bodyForLog(null)).toBeNull();
  });
});
