import { parseCallbackBody } from './coingate-callback-body.hooks';

describe('CoinGate callback body', () => {
  it('reads the form CoinGate posts, and JSON', () => {
    expect(parseCallbackBody('id=1387&order_id=abc&status=paid&token=t%2Bk')).toMatchObject({ id: '1387', order_id: 'abc', status: 'paid', token: 't+k' });
    expect(parseCallbackBody('{"order_id":"abc","token":"t"}')).toEqual({ order_id: 'abc', token: 't' });
  });

  it('anything else is an empty object (refused later as an unknown payment)', () => {
    expect(parseCallbackBody('{"order_id":')).toEqual({});
    expect(parseCallbackBody('[1,2]')).toEqual({});
    expect(parseCallbackBody(undefined)).toEqual({});
    expect(parseCallbackBody(Buffer.from('x'))).toEqual({});
  });
});
