import { ExchangeError, ExchangeErrorCodes as C } from '../errors';
import { credentialFailureReason } from './credential-failure';
import { toExchangeError } from './exchange-error-mapping';
import { parseOkxKeyPermissions } from './live/okx-parsers';

/** ccxt's error shapes, built by name (as toExchangeError reads them). */
function ccxtError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe('credentialFailureReason: a trader reads the exchange reason, never our plumbing', () => {
  it('a DNS failure says OKX could not be reached, without URL, host or resolver error', () => {
    const e = toExchangeError(ccxtError('NetworkError', 'okx GET https://www.okx.com/api/v5/public/instruments?instType=SPOT fetch failed: getaddrinfo ENOTFOUND www.okx.com'));
    const reason = credentialFailureReason(e);
    expect(reason).toBe('OKX could not be reached to check these keys. Nothing was saved: try again in a few minutes.');
    expect(reason).not.toMatch(/okx\.com|http|ENOTFOUND|getaddrinfo/);
  });

  it.each([
    ['50111', 'AuthenticationError', /does not recognise this API key/],
    ['50105', 'AuthenticationError', /passphrase is wrong/],
    ['50113', 'AuthenticationError', /secret key does not match/],
    ['50110', 'PermissionDenied', /bound to IP addresses/],
    ['50102', 'InvalidNonce', /clocks are out of step/],
    ['50101', 'AuthenticationError', /other OKX environment/],
  ])('OKX %s (%s) has its own message', (code, cls, message) => {
    const e = toExchangeError(ccxtError(cls, `okx {"msg":"whatever","code":"${code}"}`));
    expect(credentialFailureReason(e)).toMatch(message);
  });

  it('another OKX code quotes OKX, not the request', () => {
    const e = toExchangeError(ccxtError('ExchangeError', 'okx GET https://www.okx.com/api/v5/account/config {"msg":"API frozen for review","code":"59999"}'));
    expect(credentialFailureReason(e)).toBe('OKX refused these keys: API frozen for review (OKX code 59999).');
  });

  it('an error without an OKX body is generic', () => {
    expect(credentialFailureReason(ExchangeError.permanent(C.internal, 'TypeError at https://x'))).not.toContain('https');
  });
});

describe('parseOkxKeyPermissions', () => {
  it('reads perm and ip from the account config', () => {
    expect(parseOkxKeyPermissions({ code: '0', data: [{ perm: 'read_only,withdraw,trade', ip: '' }] })).toEqual({
      read: true,
      trade: true,
      withdraw: true,
      raw: ['read_only', 'withdraw', 'trade'],
      ip_whitelist: [],
    });
    expect(parseOkxKeyPermissions({ code: '0', data: [{ perm: 'trade', ip: '1.2.3.4, 5.6.7.8' }] })).toMatchObject({ read: false, withdraw: false, ip_whitelist: ['1.2.3.4', '5.6.7.8'] });
  });

  it('an answer without data is an error, never "no permissions"', () => {
    expect(() => parseOkxKeyPermissions({ code: '0', data: [] })).toThrow(ExchangeError);
  });
});
