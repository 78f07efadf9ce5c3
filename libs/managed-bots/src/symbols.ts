const QUOTES = ['USDT', 'USDC', 'BTC', 'ETH', 'EUR', 'USD'];

/**
 * 'BTC/USDT', 'BTC-USDT', 'BTCUSDT', 'OKX:BTCUSDT' → 'BTC/USDT' (the form orders carry); null when
 * no quote currency can be told apart.
 */
export function normalizeSymbol(raw: string): string | null {
  const s = raw.trim().toUpperCase().replace(/^[A-Z]+:/, '');
  const parts = s.split(/[/-]/);
  if (parts.length === 2 && parts[0] && parts[1]) return `${parts[0]}/${parts[1]}`;
  if (parts.length !== 1) return null;
  const quote = QUOTES.find((q) => s.endsWith(q) && s.length > q.length);
  return quote ? `${s.slice(0, -quote.length)}/${quote}` : null;
}
