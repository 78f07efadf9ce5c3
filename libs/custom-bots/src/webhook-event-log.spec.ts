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

describe('bodyForLog skips the copies that have nothing to do', () => {
  /** The pipeline as it was written before: every step on every body. */
  function reference(raw: Buffer, knownSecret: string): string {
    let text = raw.toString('utf8').split(knownSecret).join('[redacted]');
    text = text
      .replace(/("secret"\s*:\s*")((?:[^"\\]|\\.)*)(")/g, '$1[redacted]$3')
      .replace(/('secret'\s*:\s*')((?:[^'\\]|\\.)*)(')/g, '$1[redacted]$3');
    return Buffer.from(text, 'utf8').subarray(0, MAX_LOGGED_BODY_BYTES).toString('utf8').split('\u0000').join('');
  }

  it('gives what every step on every body gave, for bodies around the cut, with secrets, NULs and multi-byte characters', () => {
    const secret = 'Vb3kQ9xZ_secret-value-0123456789abcdefghijk';
    const pieces = ['a', 'é', '🙂', '\u0000', '"secret": "x"', `'secret': 'y'`, secret, '{"action":"buy"}', 'x'.repeat(997)];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const target = Math.floor(next() * MAX_LOGGED_BODY_BYTES * 1.2);
      let body = '';
      while (Buffer.byteLength(body) < target) body += pieces[Math.floor(next() * pieces.length)];
      const raw = Buffer.from(body, 'utf8');
      expect(bodyForLog(raw, secret)).toBe(reference(raw, secret));
    }
    // Exactly at the cut, and one multi-byte character across it.
    for (const body of ['x'.repeat(MAX_LOGGED_BODY_BYTES), `${'x'.repeat(MAX_LOGGED_BODY_BYTES - 1)}é`, `${'x'.repeat(MAX_LOGGED_BODY_BYTES - 2)}🙂`]) {
      expect(bodyForLog(Buffer.from(body), secret)).toBe(reference(Buffer.from(body), secret));
    }
  });
});
