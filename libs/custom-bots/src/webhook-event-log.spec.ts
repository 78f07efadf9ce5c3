import { bodyForLog, MAX_LOGGED_BODY_BYTES } from './webhook-event-log';

describe('bodyForLog', () => {
  it('masks the secret, drops NULs and keeps at most 10 KB', () => {
    expect(bodyForLog(Buffer.from('{"action":"buy","secret" : "s3cr\\"et"}'))).toBe('{"action":"buy","secret" : "[redacted]"}');
    expect(bodyForLog(Buffer.from('a\u0000b'))).toBe('ab');
    expect(bodyForLog(Buffer.alloc(MAX_LOGGED_BODY_BYTES * 3, 'x'))).toHaveLength(MAX_LOGGED_BODY_BYTES);
    expect(bodyForLog(null)).toBeNull();
  });
});

describe('bodyForLog masks before it cuts', () => {
  const secret = 'Vb3kQ9xZ_secret-value-0123456789abcdefghijk';

  it('a secret straddling the 10 KB cut leaves no prefix; every occurrence of the URL secret is masked', () => {
    const head = `{"note": "${'x'.repeat(MAX_LOGGED_BODY_BYTES - 30)}", "secret": "`;
    const logged = bodyForLog(Buffer.from(`${head}${secret}", "echo": "${secret}"}`), secret)!;
    expect(logged).not.toContain(secret.slice(0, 8));
    expect(Buffer.byteLength(logged)).toBeLessThanOrEqual(MAX_LOGGED_BODY_BYTES);
  });

  it('masks a single-quoted secret field (a body that is not strict JSON), and ignores a junk short path secret', () => {
    expect(bodyForLog(Buffer.from(`{'action': 'buy', 'secret': 'abc'}`))).toBe(`{'action': 'buy', 'secret': '[redacted]'}`);
    expect(bodyForLog(Buffer.from('{"action": "buy"}'), 'a')).toBe('{"action": "buy"}');
  });
});
