import type * as CcxtModule from 'ccxt';
import { ExchangeError } from '../errors';
import { describeFailure, parseExchangeMessage, toExchangeError } from './exchange-error-mapping';

// The real ccxt classes, so a rename in ccxt fails here rather than in production.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ccxt = require('ccxt') as typeof CcxtModule;

describe('toExchangeError', () => {
  const transient: Array<[string, new (m: string) => Error, string]> = [
    ['NetworkError', ccxt.NetworkError, 'network_error'],
    ['RequestTimeout', ccxt.RequestTimeout, 'timeout'],
    ['RateLimitExceeded', ccxt.RateLimitExceeded, 'rate_limited'],
    ['DDoSProtection', ccxt.DDoSProtection, 'rate_limited'],
    ['ExchangeNotAvailable', ccxt.ExchangeNotAvailable, 'exchange_unavailable'],
    ['OnMaintenance', ccxt.OnMaintenance, 'exchange_unavailable'],
    ['InvalidNonce', ccxt.InvalidNonce, 'network_error'],
  ];
  it.each(transient)('%s is transient', (_name, Cls, code) => {
    const e = toExchangeError(new Cls('okx GET http://x/api/v5/account/balance fetch failed'));
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.kind).toBe('transient');
    expect(e.code).toBe(code);
  });

  const permanent: Array<[string, new (m: string) => Error, string]> = [
    ['AuthenticationError', ccxt.AuthenticationError, 'authentication_failed'],
    ['PermissionDenied', ccxt.PermissionDenied, 'permission_denied'],
    ['InsufficientFunds', ccxt.InsufficientFunds, 'insufficient_funds'],
    ['InvalidOrder', ccxt.InvalidOrder, 'invalid_order'],
    ['OrderNotFound', ccxt.OrderNotFound, 'order_not_found'],
    ['BadSymbol', ccxt.BadSymbol, 'bad_symbol'],
    ['BadRequest', ccxt.BadRequest, 'bad_request'],
    ['ArgumentsRequired', ccxt.ArgumentsRequired, 'bad_request'],
    ['NotSupported', ccxt.NotSupported, 'not_supported'],
    ['ExchangeError', ccxt.ExchangeError, 'exchange_error'],
  ];
  it.each(permanent)('%s is permanent', (_name, Cls, code) => {
    const e = toExchangeError(new Cls('okx {"code":"50000","msg":"x","data":[]}'));
    expect(e.kind).toBe('permanent');
    expect(e.code).toBe(code);
  });

  it('takes the reason and code from an OKX per-order failure', () => {
    const body = '{"code":"1","data":[{"clOrdId":"a1","ordId":"","sCode":"51008","sMsg":"Order failed. Insufficient USDT balance in account.","tag":""}],"msg":"All operations failed"}';
    const e = toExchangeError(new ccxt.InsufficientFunds(`okx ${body}`));
    expect(e).toMatchObject({ kind: 'permanent', code: 'insufficient_funds', exchangeCode: '51008' });
    expect(e.reason).toBe('Order failed. Insufficient USDT balance in account.');
  });

  it('OKX 51016 "Duplicated clOrdId" is transient: an order with our client order id exists, so it is looked up, never rejected', () => {
    const body = '{"code":"1","data":[{"clOrdId":"a1","ordId":"","sCode":"51016","sMsg":"Duplicated clOrdId","tag":""}],"msg":"All operations failed"}';
    const e = toExchangeError(new ccxt.InvalidOrder(`okx ${body}`));
    expect(e).toMatchObject({ kind: 'transient', code: 'duplicate_client_order_id', exchangeCode: '51016', reason: 'Duplicated clOrdId' });
  });

  it('takes the reason and code from an OKX request failure', () => {
    const e = toExchangeError(new ccxt.AuthenticationError('okx {"msg":"Invalid OK-ACCESS-KEY.","code":"50111"}'));
    expect(e).toMatchObject({ kind: 'permanent', code: 'authentication_failed', exchangeCode: '50111', reason: 'Invalid OK-ACCESS-KEY.' });
  });

  it('gives a trader-readable reason without our URL when OKX sent no answer, and keeps the details for the log', () => {
    const html = describeFailure(new ccxt.ExchangeNotAvailable('okx GET http://127.0.0.1/api/v5/account/balance 503 Service Unavailable <html>'));
    expect(html.failure).toMatchObject({ kind: 'transient', code: 'exchange_unavailable', exchangeCode: null, reason: 'OKX is temporarily unavailable (it answered with a server error)' });
    expect(html.detail).toBe('okx GET http://127.0.0.1/api/v5/account/balance 503 Service Unavailable <html>');

    const down = describeFailure(new ccxt.NetworkError('okx GET http://127.0.0.1:9/api/v5/trade/order?instId=BTC-USDT fetch failed: connect ECONNREFUSED 127.0.0.1:9'), ['SECRETKEY1']);
    expect(down.failure.reason).toBe('OKX could not be reached (network error); the order is looked up before any retry');
    expect(down.detail).toContain('ECONNREFUSED');
    const slow = toExchangeError(new ccxt.RequestTimeout('okx POST https://www.okx.com/api/v5/trade/order request timed out (10000 ms)'));
    expect(slow).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(JSON.stringify(slow) + slow.reason).not.toMatch(/https?:|okx\.com|127\.0\.0\.1/);
    // ccxt's own refusal keeps its words, minus any URL.
    expect(toExchangeError(new ccxt.BadRequest('okx GET https://www.okx.com/api/v5/x 404 Not Found')).reason).toBe('okx GET [url] 404 Not Found');
  });

  it('OKX 50011 and 50061 (order rate limits) are transient: waited for, never a rejection', () => {
    expect(toExchangeError(new ccxt.RateLimitExceeded('okx {"msg":"Too Many Requests","code":"50011"}'))).toMatchObject({ kind: 'transient', code: 'rate_limited', exchangeCode: '50011' });
    expect(toExchangeError(new ccxt.ExchangeError('okx {"msg":"Sub-account rate limit reached","code":"50061"}'))).toMatchObject({ kind: 'transient', code: 'rate_limited', exchangeCode: '50061' });
  });

  it('an order OKX refused for arriving after its expTime is a permanent order_expired with a clear reason', () => {
    const e = toExchangeError(new ccxt.ExchangeError('okx {"msg":"The expTime can\'t be earlier than the current system time. Please adjust the expTime and try again.","code":"50036","data":[]}'));
    expect(e).toMatchObject({ kind: 'permanent', code: 'order_expired', exchangeCode: '50036' });
    expect(e.reason).toContain('did not place it');
  });

  it('scrubs credentials out of the reason', () => {
    const e = toExchangeError(new ccxt.AuthenticationError('okx key my-api-key-123 secret S3CR3T-VALUE rejected'), ['my-api-key-123', 'S3CR3T-VALUE', null]);
    expect(e.reason).toBe('okx key [redacted] secret [redacted] rejected');
  });

  it('treats socket errors as transient and anything else as a permanent internal error', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(toExchangeError(reset)).toMatchObject({ kind: 'transient', code: 'network_error' });
    expect(toExchangeError(new TypeError('x is undefined'))).toMatchObject({ kind: 'permanent', code: 'internal_error' });
    expect(toExchangeError('boom')).toMatchObject({ kind: 'permanent', code: 'internal_error', reason: 'boom' });
  });

  it('passes an ExchangeError through untouched', () => {
    const original = ExchangeError.permanent('below_min_notional', 'too small');
    expect(toExchangeError(original)).toBe(original);
  });
});

describe('parseExchangeMessage', () => {
  it('ignores a success sCode and falls back to msg', () => {
    expect(parseExchangeMessage('okx {"code":"51603","data":[],"msg":"Order does not exist"}')).toEqual({
      code: '51603',
      message: 'Order does not exist',
    });
    expect(parseExchangeMessage('okx {"code":"0","data":[{"sCode":"0","sMsg":""}],"msg":""}')).toEqual({ code: '0', message: null });
    expect(parseExchangeMessage('no json here')).toEqual({ code: null, message: null });
  });
});
