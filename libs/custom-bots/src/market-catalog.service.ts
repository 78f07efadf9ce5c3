import { Injectable, Logger } from '@nestjs/common';
import { ExchangeGatewayFactory, PAPER_MARKETS } from '@torgovo/trading';
import { buildMarketIndex, MarketIndex } from './market-symbols';

const LIVE_TTL_MS = 60 * 60 * 1000;
const FAILURE_RETRY_MS = 5_000;

interface CacheEntry {
  index: Promise<MarketIndex>;
  loadedAt: number;
}

/**
 * Market lists per exchange, in memory: the webhook hot path resolves tickers without a
 * network call. Paper never loads ccxt; live lists are public data, loaded without keys.
 */
@Injectable()
export class MarketCatalog {
  private readonly logger = new Logger(MarketCatalog.name);
  private readonly paper = buildMarketIndex(PAPER_MARKETS);
  private readonly live = new Map<string, CacheEntry>();

  constructor(private readonly gateways: ExchangeGatewayFactory) {}

  /** Rejects when the exchange cannot be reached; the caller maps that to a 503. */
  async forExchange(exchange: string): Promise<MarketIndex> {
    if (exchange === 'paper') return this.paper;
    const now = Date.now();
    const cached = this.live.get(exchange);
    if (cached && now - cached.loadedAt < LIVE_TTL_MS) return cached.index;
    const entry: CacheEntry = { index: this.load(exchange), loadedAt: now };
    this.live.set(exchange, entry);
    entry.index.catch(() => {
      // Keep serving an old list if there was one, and retry soon either way.
      const fallback = cached ?? entry;
      fallback.loadedAt = now - LIVE_TTL_MS + FAILURE_RETRY_MS;
      this.live.set(exchange, fallback);
    });
    return entry.index;
  }

  private async load(exchange: string): Promise<MarketIndex> {
    const gateway = this.gateways.forUncachedLive({ exchange, apiKey: '', secret: '', passphrase: '', sandbox: false });
    const markets = await gateway.loadMarkets();
    this.logger.log({ exchange, markets: markets.length }, 'Market list loaded');
    return buildMarketIndex(markets);
  }
}
