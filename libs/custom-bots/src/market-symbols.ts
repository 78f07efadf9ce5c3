import type { Market } from '@torgovo/trading';
import { compactTicker } from './tradingview-signal';

/** Active spot markets of one exchange, keyed by their letters only ("BTCUSDT"). */
export type MarketIndex = ReadonlyMap<string, Market>;

export function buildMarketIndex(markets: readonly Market[]): MarketIndex {
  const index = new Map<string, Market>();
  for (const m of markets) {
    if (!m.active) continue;
    const key = `${m.base}${m.quote}`.toUpperCase();
    // Two markets with the same letters ("AB"+"CUSDT" vs "ABC"+"USDT") cannot be told apart
    // from a compact ticker; the first listed wins, the separated forms still resolve exactly.
    if (!index.has(key)) index.set(key, m);
  }
  return index;
}

/**
 * Any of "BTCUSDT", "OKX:BTCUSDT", "BTC-USDT", "BTC/USDT" → the exchange's market, or null.
 * A ticker with a separator must also split at the right place.
 */
export function resolveMarket(index: MarketIndex, ticker: string): Market | null {
  const c = compactTicker(ticker);
  if (!c) return null;
  const market = index.get(c.compact);
  if (!market) return null;
  const bare = ticker.slice(ticker.lastIndexOf(':') + 1).trim().toUpperCase();
  const parts = bare.split(/[/_-]/);
  if (parts.length === 2 && (parts[0] !== market.base.toUpperCase() || parts[1] !== market.quote.toUpperCase())) return null;
  return market;
}
