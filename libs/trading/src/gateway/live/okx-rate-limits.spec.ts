import { OKX_LIMITS, RateTicket, rateAccountOf, RateWindows, RateWindow } from './okx-rate-limits';

describe('RateWindows (OKX limits per account)', () => {
  let now = 1_000_000;
  const windows = () => new RateWindows(() => now);
  /** A call that is answered at once: 0 when it went, else the wait. */
  const call = (w: RateWindows, ws: RateWindow[]): number => {
    const t = w.take(ws);
    if (typeof t === 'number') return t;
    t.done();
    return 0;
  };

  it('lets 60 placements per 2 s through on one account and instrument, then makes the 61st wait for the first to leave the window', () => {
    const w = windows();
    const acct = rateAccountOf('key-1', false);
    for (let i = 0; i < 60; i++) {
      expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(0);
      now += 10;
    }
    // 600 ms after the first: the 61st may go at first + 2 s.
    expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(1_400);
    // Other instruments and other accounts are not held up.
    expect(call(w, OKX_LIMITS.place(acct, 'ETH-USDT'))).toBe(0);
    expect(call(w, OKX_LIMITS.place(rateAccountOf('key-2', false), 'BTC-USDT'))).toBe(0);
  });

  it('counts nothing for a call told to wait', () => {
    const w = windows();
    const acct = rateAccountOf('key-3', false);
    for (let i = 0; i < 60; i++) call(w, OKX_LIMITS.place(acct, 'BTC-USDT'));
    for (let i = 0; i < 5; i++) expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(2_000);
    now += 2_000;
    expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(0);
  });

  it('counts 1,000 placements per 2 s across the instruments of one account', () => {
    const w = windows();
    const acct = rateAccountOf('key-4', false);
    for (let i = 0; i < 1_000; i++) expect(call(w, OKX_LIMITS.place(acct, `I${i % 50}-USDT`))).toBe(0);
    expect(call(w, OKX_LIMITS.place(acct, 'NEW-USDT'))).toBe(2_000);
  });

  it('counts a call still in flight as sent now, and from its answer once back', () => {
    const w = windows();
    const acct = rateAccountOf('key-5', false);
    const slow = w.take(OKX_LIMITS.place(acct, 'BTC-USDT')) as RateTicket;
    for (let i = 0; i < 59; i++) expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(0);
    now += 1_500;
    // The slow first call is unanswered: it may reach OKX any moment, so the window runs from now.
    expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(500);
    slow.done();
    expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(500);
    now += 2_000;
    expect(call(w, OKX_LIMITS.place(acct, 'BTC-USDT'))).toBe(0);
  });

  it('names an account without its key, and forgets idle accounts', () => {
    const id = rateAccountOf('my-api-key', false);
    expect(id).not.toContain('my-api-key');
    expect(rateAccountOf('my-api-key', true)).not.toBe(id);
    const w = windows();
    for (let i = 0; i < 999; i++) call(w, OKX_LIMITS.balance(rateAccountOf(`k${i}`, false)));
    expect(w.size).toBe(999);
    now += 5_000;
    call(w, OKX_LIMITS.balance(rateAccountOf('last', false)));
    expect(w.size).toBe(1);
  });
});
