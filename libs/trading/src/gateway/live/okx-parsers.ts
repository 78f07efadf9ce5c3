import { Decimal, isDecimalString, KeyPermissions, toDecimalString } from '@torgovo/core';
import { ExchangeError, ExchangeErrorCodes as C } from '../../errors';
import type { Balances, Deposit, DepositAddress, DepositStatus, Market, Order, OrderStatus, Ticker } from '../exchange-gateway';

// OKX sends every number as a string: these read those strings directly, so no value
// passes through a JS float on its way in (ccxt's parsed numbers are not used).

export type OkxRecord = Record<string, unknown>;

function str(raw: OkxRecord, key: string): string | null {
  const v = raw[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

function dec(raw: OkxRecord, key: string): string | null {
  const v = str(raw, key);
  return v !== null && isDecimalString(v) ? toDecimalString(v) : null;
}

function ms(raw: OkxRecord, key: string): number {
  const v = str(raw, key);
  return v !== null && /^\d+$/.test(v) ? Number(v) : 0;
}

export function okxData(response: unknown): OkxRecord[] {
  const data = (response as OkxRecord | null)?.data;
  return Array.isArray(data) ? (data.filter((d) => typeof d === 'object' && d !== null) as OkxRecord[]) : [];
}

/** GET /api/v5/account/balance → details of the trading account (same reading as ccxt). */
export function parseOkxBalance(response: unknown): Balances {
  const first = okxData(response)[0];
  const details = Array.isArray(first?.details) ? (first.details as OkxRecord[]) : [];
  const result: Balances = {};
  for (const d of details) {
    const ccy = str(d, 'ccy');
    if (!ccy) continue;
    const total = new Decimal(dec(d, 'eq') ?? dec(d, 'cashBal') ?? '0');
    const free = new Decimal(dec(d, 'availEq') ?? dec(d, 'availBal') ?? '0');
    const used = total.minus(free);
    result[ccy] = { free: free.toFixed(), used: (used.isNeg() ? new Decimal(0) : used).toFixed(), total: total.toFixed() };
  }
  return result;
}

/** One row of GET /api/v5/public/instruments?instType=SPOT. OKX spot has no minimum order value. */
export function parseOkxMarket(inst: OkxRecord): Market {
  const id = str(inst, 'instId') ?? '';
  const [idBase, idQuote] = id.split('-');
  const base = str(inst, 'baseCcy') ?? idBase ?? '';
  const quote = str(inst, 'quoteCcy') ?? idQuote ?? '';
  return {
    symbol: `${base}/${quote}`,
    id,
    base,
    quote,
    active: str(inst, 'state') === 'live',
    amountPrecision: dec(inst, 'lotSz') ?? '0.00000001',
    pricePrecision: dec(inst, 'tickSz') ?? '0.00000001',
    minAmount: dec(inst, 'minSz'),
    minCost: null,
  };
}

const ORDER_STATES: Record<string, OrderStatus> = {
  live: 'open',
  partially_filled: 'open',
  filled: 'closed',
  canceled: 'canceled',
  mmp_canceled: 'canceled',
  order_failed: 'rejected',
};

/**
 * One row of GET /api/v5/trade/order. `sz` is in base units, except for a spot market order with
 * tgtCcy=quote_ccy (our market buys sized by cost): there `sz` is in quote — what the buy spends —
 * and the base is only known from the fill, so `amount` is accFillSz (0 until it fills) and
 * `requestedCost` keeps sz.
 */
export function parseOkxOrder(raw: OkxRecord, symbol: string): Order {
  const filled = dec(raw, 'accFillSz') ?? '0';
  const average = dec(raw, 'avgPx');
  const fee = dec(raw, 'fee');
  const state = str(raw, 'state') ?? '';
  const status = ORDER_STATES[state] ?? 'open';
  const side = str(raw, 'side') === 'sell' ? 'sell' : 'buy';
  const type = str(raw, 'ordType') === 'market' ? 'market' : 'limit';
  const byCost = type === 'market' && str(raw, 'tgtCcy') === 'quote_ccy';
  return {
    exchangeOrderId: str(raw, 'ordId') ?? '',
    clientOrderId: str(raw, 'clOrdId'),
    symbol,
    side,
    type,
    status,
    amount: byCost ? filled : (dec(raw, 'sz') ?? '0'),
    requestedCost: byCost ? dec(raw, 'sz') : null,
    price: dec(raw, 'px'),
    filled,
    average,
    // What was spent (or received), whatever sz meant: the fill times its average price.
    cost: average ? new Decimal(filled).mul(average).toFixed() : '0',
    // OKX reports a charged fee as negative and a rebate as positive; we report the charge.
    fee: fee ? new Decimal(fee).neg().toFixed() : '0',
    feeCurrency: str(raw, 'feeCcy'),
    timestamp: ms(raw, 'cTime'),
    rejectReason: status === 'rejected' ? (str(raw, 'cancelSourceReason') ?? `OKX order state ${state}`) : null,
  };
}

function chainNetwork(chain: string | null, currency: string): string | null {
  if (!chain) return null;
  return chain.startsWith(`${currency}-`) ? chain.slice(currency.length + 1) : chain;
}

function tagOf(raw: OkxRecord): string | null {
  const addrEx = raw.addrEx as OkxRecord | undefined;
  return str(raw, 'tag') ?? str(raw, 'memo') ?? str(raw, 'pmtId') ?? (addrEx ? str(addrEx, 'comment') : null);
}

/**
 * GET /api/v5/asset/deposit-address?ccy= lists every chain, several addresses each; the
 * `selected` one per chain is current. `network` matches the chain name after "CCY-" ("TRC20").
 */
export function parseOkxDepositAddress(response: unknown, currency: string, network?: string): DepositAddress {
  const rows = okxData(response).filter((r) => r.selected === true);
  const wanted = network?.toLowerCase();
  const row = wanted ? rows.find((r) => chainNetwork(str(r, 'chain'), currency)?.toLowerCase() === wanted) : rows[0];
  const address = row ? str(row, 'addr') : null;
  if (!row || !address) {
    throw ExchangeError.permanent(C.badRequest, `no deposit address for ${currency}${network ? ` on ${network}` : ''}`);
  }
  return { currency: str(row, 'ccy') ?? currency, address, tag: tagOf(row), network: chainNetwork(str(row, 'chain'), currency) };
}

// 0 waiting for confirmations, 1 credited (not yet withdrawable), 2 successful; 11–14 blocked.
// Like ccxt, only 2 counts as `ok`: a payment is settled by money that can be moved.
const DEPOSIT_FAILED = new Set(['11', '12', '13', '14']);

function depositStatus(state: string | null): DepositStatus {
  if (state === '2') return 'ok';
  return state !== null && DEPOSIT_FAILED.has(state) ? 'failed' : 'pending';
}

/** One row of GET /api/v5/asset/deposit-history. */
export function parseOkxDeposit(raw: OkxRecord): Deposit {
  const currency = str(raw, 'ccy') ?? '';
  return {
    id: str(raw, 'depId'),
    txId: str(raw, 'txId'),
    currency,
    amount: dec(raw, 'amt') ?? '0',
    address: str(raw, 'to'),
    tag: tagOf(raw),
    network: chainNetwork(str(raw, 'chain'), currency),
    status: depositStatus(str(raw, 'state')),
    timestamp: ms(raw, 'ts'),
  };
}

/** GET /api/v5/market/ticker?instId= */
export function parseOkxTicker(raw: OkxRecord, symbol: string): Ticker {
  return { symbol, last: dec(raw, 'last'), bid: dec(raw, 'bidPx'), ask: dec(raw, 'askPx') };
}

/**
 * GET /api/v5/account/config → what the API key may do: `perm` is "read_only", "trade", "withdraw"
 * comma-separated; `ip` the addresses the key is bound to, comma-separated, "" when unbound.
 */
export function parseOkxKeyPermissions(response: unknown): KeyPermissions {
  const first = okxData(response)[0];
  if (!first) throw ExchangeError.permanent(C.exchangeError, 'OKX did not say what this API key may do');
  const list = (key: string) =>
    (str(first, key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const raw = list('perm');
  return { read: raw.includes('read_only'), trade: raw.includes('trade'), withdraw: raw.includes('withdraw'), raw, ip_whitelist: list('ip') };
}
