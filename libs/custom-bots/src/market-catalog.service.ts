import { Injectable, Logger } from '@nestjs/common';
import { ExchangeGatewayFactory, PAPER_MARKETS } from '@torgovo/trading';
import { buildMarketIndex, MarketIndex } from './market-symbols';

const LIVE_TTL_MS = 60 * 60 * 1000;
const FAILURE_RETRY_MS = 5_000;

interface CacheEntry {
  index: Promise<MarketIndex>;
  loadedAt: number;
  /** false until the load succeeded: a failed load is remembered FAILURE_RETRY_MS, never served stale. */
  ok: boolean;
}

/**
 * Market lists per exchange, in memory: the webhook hot path resolves tickers without a
 * network call. Paper never loads ccxt; live lists are public data, loaded without keys.
 * An expired list is served while a refresh runs in the background (stale-while-revalidate):
 * an exchange hiccup at refresh time never refuses an alert TradingView will not resend.
 */
@Injectable()
export class MarketCatalog {
  private readonly logger = new Logger(MarketCatalog.name);
  private readonly paper = buildMarketIndex(PAPER_MARKETS);
  private readonly live = new Map<string, CacheEntry>();
  private readonly refreshing = new Set<string>();

  constructor(private readonly gateways: ExchangeGatewayFactory) {}

  /** Rejects when the exchange cannot be reached and no list was ever loaded; the caller maps that to a 503. */
  async forExchange(exchange: string): Promise<MarketIndex> {
    if (exchange === 'paper') return this.paper;
    const now = Date.now();
    const cached = this.live.get(exchange);
    if (cached && now - cached.loadedAt < LIVE_TTL_MS) return cached.index;
    if (cached?.ok) {
      this.refresh(exchange, cached);
      return cached.index;
    }
    const entry: CacheEntry = { index: this.load(exchange), loadedAt: now, ok: false };
    this.live.set(exchange, entry);
    entry.index.then(
      () => (entry.ok = true),
      () => (entry.loadedAt = Date.now() - LIVE_TTL_MS + FAILURE_RETRY_MS), // retry soon, not on every alert
    );
    return entry.index;
  }

  private refresh(exchange: string, stale: CacheEntry): void {
    if (this.refreshing.has(exchange)) return;
    this.refreshing.add(exchange);
    this.load(exchange)
      .then((index) => this.live.set(exchange, { index: Promise.resolve(index), loadedAt: Date.now(), ok: true }))
      .catch((err: unknown) => {
        stale.loadedAt = Date.now() - LIVE_TTL_MS + FAILURE_RETRY_MS;
        this.logger.warn({ exchange, err: err instanceof Error ? err.message : String(err) }, 'Market list refresh failed; serving the previous list');
      })
      .finally(() => this.refreshing.delete(exchange));
  }

  private async load(exchange: string): Promise<MarketIndex> {
    const gateway = this.gateways.forUncachedLive({ exchange, apiKey: '', secret: '', passphrase: '', sandbox: false });
    const markets = await gateway.loadMarkets();
    this.logger.log({ exchange, markets: markets.length }, 'Market list loaded');
    return buildMarketIndex(markets);
  }
}
