import { Decimal } from '@torgovo/core';
import type { Market } from '../gateway/exchange-gateway';
import { decidePlacement, PlacementOrder, PlacementStates } from './placement-rule';

const market: Market = {
  symbol: 'BTC/USDT',
  id: 'BTC-USDT',
  base: 'BTC',
  quote: 'USDT',
  active: true,
  amountPrecision: '0.00000001',
  pricePrecision: '0.1',
  minAmount: '0.00001',
  minCost: null,
};

const order = (o: Partial<PlacementOrder> = {}): PlacementOrder => ({
  created_at: new Date('2026-11-26T10:00:00Z'),
  mode: 'live',
  exchange: 'okx',
  type: 'market',
  side: 'buy',
  symbol: 'BTC/USDT',
  amount: '0.01',
  quote_amount: null,
  quote_percent: null,
  position_percent: null,
  target_position: null,
  signal_at: null,
  price: null,
  credential_id: null,
  source: 'webhook',
  source_ref: 'event-1',
  ...o,
});

const states = (s: Partial<PlacementStates> = {}): PlacementStates => ({
  cancel_requested: false,
  bot: { status: 'running', stop_reason: null, plan_type: 'custom_bot', allow_selling_beyond_position: false },
  user_active: true,
  access: { live_trading: true },
  credential: { id: 'cred-a', exchange: 'okx' },
  position: { amount: new Decimal('0.5'), last_target_signal_at: null },
  free_quote: null,
  reference_price: '50000',
  ...s,
});

const reasonOf = (o: PlacementOrder, s: PlacementStates) => {
  const d = decidePlacement(o, s, market);
  return d.send ? 'send' : d.reason;
};

describe('the placement rule', () => {
  it('sends only while every state allows it, and says which one did not', () => {
    expect(reasonOf(order(), states())).toBe('send');
    expect(reasonOf(order(), states({ bot: { status: 'stopped', stop_reason: 'user', plan_type: 'custom_bot', allow_selling_beyond_position: false } }))).toBe('bot_stopped');
    expect(reasonOf(order(), states({ bot: { status: 'deleted', stop_reason: 'deleted', plan_type: 'custom_bot', allow_selling_beyond_position: false } }))).toBe('bot_deleted');
    expect(reasonOf(order(), states({ bot: 'missing' }))).toBe('bot_deleted');
    expect(reasonOf(order(), states({ user_active: false }))).toBe('user_inactive');
    expect(reasonOf(order(), states({ access: null }))).toBe('subscription_inactive');
    expect(reasonOf(order(), states({ access: { live_trading: false } }))).toBe('live_trading_not_allowed');
    expect(reasonOf(order({ mode: 'paper', exchange: 'paper' }), states({ access: { live_trading: false }, credential: null }))).toBe('send');
    expect(reasonOf(order(), states({ credential: null }))).toBe('exchange_disconnected');
    expect(reasonOf(order({ credential_id: 'cred-a' }), states({ credential: { id: 'cred-b', exchange: 'okx' } }))).toBe('credential_changed');
    expect(reasonOf(order({ credential_id: 'cred-a' }), states())).toBe('send');
  });

  it('a cancel the user asked for wins over every other check; a manual close may run on a stopped bot', () => {
    expect(reasonOf(order(), states({ cancel_requested: true }))).toBe('user_canceled');
    expect(reasonOf(order(), states({ cancel_requested: true, user_active: false }))).toBe('user_canceled');
    const stopped = states({ bot: { status: 'stopped', stop_reason: 'user', plan_type: 'custom_bot', allow_selling_beyond_position: false } });
    const manualClose = order({ side: 'sell', amount: null, position_percent: '100', source: 'manual', source_ref: 'close:bot-1:x' });
    expect(decidePlacement(manualClose, stopped, market)).toMatchObject({ send: true, placement: { amount: '0.5' } });
    // An alert's close, or any other manual order, still needs a running bot; a deleted bot nothing.
    expect(reasonOf({ ...manualClose, source: 'webhook' }, stopped)).toBe('bot_stopped');
    expect(reasonOf({ ...manualClose, source_ref: 'tool-1' }, stopped)).toBe('bot_stopped');
    expect(reasonOf(manualClose, states({ bot: { status: 'deleted', stop_reason: 'deleted', plan_type: 'custom_bot', allow_selling_beyond_position: false } }))).toBe('bot_deleted');
    expect(reasonOf(manualClose, { ...stopped, cancel_requested: true })).toBe('user_canceled');
  });

  it('an order accepted before the bot was stopped and started again is not traded after the restart; a later one is; a manual close still runs', () => {
    const restarted = states({ bot: { status: 'running', stop_reason: null, plan_type: 'custom_bot', allow_selling_beyond_position: false, started_at: new Date('2026-11-26T10:05:00Z') } });
    expect(reasonOf(order({ created_at: new Date('2026-11-26T10:04:59Z') }), restarted)).toBe('bot_stopped');
    expect(reasonOf(order({ created_at: new Date('2026-11-26T10:05:01Z') }), restarted)).toBe('send');
    const manualClose = order({ created_at: new Date('2026-11-26T10:04:59Z'), side: 'sell', amount: null, position_percent: '100', source: 'manual', source_ref: 'close:bot-1:x' });
    expect(decidePlacement(manualClose, restarted, market)).toMatchObject({ send: true });
    // Never stopped and started: no bound.
    expect(reasonOf(order({ created_at: new Date('2020-01-01T00:00:00Z') }), states())).toBe('send');
  });

  it('an order of no bot is checked for the user and the keys only', () => {
    expect(reasonOf(order(), states({ bot: null, access: null }))).toBe('send');
    expect(reasonOf(order(), states({ bot: null, user_active: false }))).toBe('user_inactive');
  });

  it('a close sells the whole position, a percent sell its share, nothing to sell is no_position', () => {
    const close = decidePlacement(order({ side: 'sell', amount: null, position_percent: '100' }), states(), market);
    expect(close).toMatchObject({ send: true, side: 'sell', placement: { amount: '0.5' }, resolved: { amount: '0.5' } });
    const quarter = decidePlacement(order({ side: 'sell', amount: null, position_percent: '25' }), states(), market);
    expect(quarter).toMatchObject({ send: true, placement: { amount: '0.125' } });
    expect(reasonOf(order({ side: 'sell', amount: null, position_percent: '100' }), states({ position: { amount: new Decimal(0), last_target_signal_at: null } }))).toBe('no_position');
  });

  it('a fixed sell sells at most the bot position unless the bot allows more', () => {
    expect(decidePlacement(order({ side: 'sell', amount: '2' }), states(), market)).toMatchObject({ send: true, placement: { amount: '0.5' }, resolved: { amount: '2' } });
    const beyond = states({ bot: { status: 'running', stop_reason: null, plan_type: 'custom_bot', allow_selling_beyond_position: true } });
    expect(decidePlacement(order({ side: 'sell', amount: '2' }), beyond, market)).toMatchObject({ send: true, placement: { amount: '2' } });
    expect(reasonOf(order({ side: 'sell', amount: '2' }), states({ position: { amount: new Decimal(0), last_target_signal_at: null } }))).toBe('no_position');
  });

  it('a percent buy spends its share of the free quote balance read now', () => {
    const d = decidePlacement(order({ amount: null, quote_percent: '50' }), states({ free_quote: '2500' }), market);
    expect(d).toMatchObject({ send: true, placement: { cost: '1250' }, resolved: { quote_amount: '1250' } });
  });

  it('a target trades the difference from the bot position; short is flat on spot; older alerts and no difference change nothing', () => {
    const t0 = new Date('2026-11-25T10:00:00Z');
    const at = (target: string, signal_at = t0) => order({ side: null, amount: null, target_position: target, signal_at });
    expect(decidePlacement(at('0.75'), states(), market)).toMatchObject({ send: true, side: 'buy', placement: { amount: '0.25' }, resolved: { side: 'buy', amount: '0.25' }, target_signal_at: t0 });
    expect(decidePlacement(at('0.2'), states(), market)).toMatchObject({ send: true, side: 'sell', placement: { amount: '0.3' } });
    expect(decidePlacement(at('-1'), states(), market)).toMatchObject({ send: true, side: 'sell', placement: { amount: '0.5' } });
    expect(decidePlacement(at('0.5'), states(), market)).toMatchObject({ send: false, reason: 'at_target', target_signal_at: t0 });
    const later = states({ position: { amount: new Decimal('0.5'), last_target_signal_at: new Date(t0.getTime() + 1000) } });
    expect(decidePlacement(at('0'), later, market)).toMatchObject({ send: false, reason: 'superseded', target_signal_at: null });
  });

  it("a target counts the bot's open buys on the way up (no second buy for the same target), and sells only what is held", () => {
    const at = (target: string) => order({ side: null, amount: null, target_position: target, signal_at: new Date('2026-11-25T10:00:00Z') });
    const resting = states({ position: { amount: new Decimal('0.5'), last_target_signal_at: null, open_buys: new Decimal('0.25') } });
    // Held 0.5, a resting buy of 0.25: target 0.75 is on its way.
    expect(decidePlacement(at('0.75'), resting, market)).toMatchObject({ send: false, reason: 'at_target' });
    // Target 1: only the 0.25 the resting buy leaves short.
    expect(decidePlacement(at('1'), resting, market)).toMatchObject({ send: true, side: 'buy', placement: { amount: '0.25' } });
    // Target 0.6: between what is held and what may be: nothing more is bought.
    expect(decidePlacement(at('0.6'), resting, market)).toMatchObject({ send: false, reason: 'at_target' });
    // Down: only what is held is sold.
    expect(decidePlacement(at('0.2'), resting, market)).toMatchObject({ send: true, side: 'sell', placement: { amount: '0.3' } });
  });
});

describe('the placement rule for a managed follower (max entry slippage)', () => {
  const follower = (max: string | null) => states({
    bot: { status: 'running', stop_reason: null, plan_type: 'managed_bot', allow_selling_beyond_position: false, max_slippage_pct: max },
  });

  it('skips an order whose market is further from the lead price than the follower allows, either side', () => {
    const lead = order({ price: '50000', amount: '0.01' });
    expect(reasonOf(lead, { ...follower('1'), market_price: '50499' })).toBe('send');
    expect(reasonOf(lead, { ...follower('1'), market_price: '50501' })).toBe('slippage_exceeded');
    expect(reasonOf(lead, { ...follower('1'), market_price: '49400' })).toBe('slippage_exceeded');
    // No limit, no market price read (paper), or no lead price: nothing to compare.
    expect(reasonOf(lead, { ...follower(null), market_price: '60000' })).toBe('send');
    expect(reasonOf(lead, { ...follower('1'), market_price: null })).toBe('send');
    expect(reasonOf(order({ price: null }), { ...follower('1'), market_price: '60000' })).toBe('send');
  });

  it('an ended follow or a paused managed bot cancels with its own reason', () => {
    const stopped = (as: 'follow_ended' | 'managed_bot_paused') =>
      states({ bot: { status: 'stopped', stop_reason: 'x', plan_type: 'managed_bot', allow_selling_beyond_position: false, stopped_as: as } });
    expect(reasonOf(order(), stopped('follow_ended'))).toBe('follow_ended');
    expect(reasonOf(order(), stopped('managed_bot_paused'))).toBe('managed_bot_paused');
  });

  it("a follower's buy spends at most the follow's investment now × the signal's fraction, and nothing when that is 0", () => {
    const sizedBy = (investment: string, fraction: string) =>
      states({
        bot: { status: 'running', stop_reason: null, plan_type: 'managed_bot', allow_selling_beyond_position: false, follow_sizing: { investment, fraction } },
      });
    const buy = order({ amount: null, quote_amount: '1000', mode: 'paper', price: '50000', source: 'managed' });
    const resolved = (s: PlacementStates) => {
      const d = decidePlacement(buy, s, market);
      return d.send ? d.resolved.quote_amount : d.reason;
    };
    // Withdrawn to 100 after a fan-out of fraction 1: 100, not 1,000 (truncated to 8 places, as the fan-out does).
    expect(resolved(sizedBy('100', '1'))).toBe('100');
    expect(resolved(sizedBy('100.123456789', '0.5'))).toBe('50.06172839');
    // Topped up since: the fan-out's amount still bounds it.
    expect(resolved(sizedBy('5000', '1'))).toBe('1000');
    expect(resolved(sizedBy('100', '0.00000000001'))).toBe('investment_withdrawn');
    // A sell is sized from the position, not the investment.
    expect(reasonOf(order({ side: 'sell', amount: '0.01' }), sizedBy('0', '1'))).toBe('send');
  });
});
