import type { Market } from '../exchange-gateway';

// Steps and minimum sizes as OKX lists them for these spot pairs (tickSz, lotSz, minSz).
// OKX has no minimum order value on spot; the paper exchange adds 1 USDT so that dust orders
// are refused the way most exchanges refuse them.
const PAPER_MIN_COST = '1';

const rows: Array<[base: string, tick: string, lot: string, min: string]> = [
  ['BTC', '0.1', '0.00000001', '0.00001'],
  ['ETH', '0.01', '0.000001', '0.0001'],
  ['SOL', '0.01', '0.000001', '0.001'],
  ['BNB', '0.1', '0.000001', '0.001'],
  ['XRP', '0.0001', '0.000001', '1'],
  ['DOGE', '0.00001', '0.000001', '10'],
  ['LTC', '0.01', '0.000001', '0.001'],
  ['ADA', '0.0001', '0.000001', '1'],
  ['TRX', '0.0001', '0.000001', '10'],
  ['OKB', '0.01', '0.000001', '0.01'],
];

export const PAPER_MARKETS: readonly Market[] = Object.freeze(
  rows.map(([base, tick, lot, min]) => ({
    symbol: `${base}/USDT`,
    id: `${base}-USDT`,
    base,
    quote: 'USDT',
    active: true,
    amountPrecision: lot,
    pricePrecision: tick,
    minAmount: min,
    minCost: PAPER_MIN_COST,
  })),
);

export function findPaperMarket(symbol: string): Market | undefined {
  return PAPER_MARKETS.find((m) => m.symbol === symbol);
}
