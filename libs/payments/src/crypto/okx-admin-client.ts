import { Inject, Injectable, Logger } from '@nestjs/common';
import type { okx as OkxExchange } from 'ccxt';
import { AppConfig, ExchangeCredentials, invokeOkx, newOkxInstance, OKX_CALLS_MODE, OkxCall, OkxCallsMode, OkxSidecar } from '@torgovo/core';
import { PaymentErrors } from '../errors';

/** One deposit as OKX lists it; every number a decimal string, as on the wire. */
export interface OkxDeposit {
  depId: string;
  txId: string;
  ccy: string;
  chain: string;
  amt: string;
  to: string;
  tag: string | null;
  state: string;
  ts: number;
}

export interface OkxDepositAddress {
  address: string;
  tag: string | null;
}

type Wire = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const firstOf = (row: Wire, keys: string[]): string | null => {
  for (const k of keys) {
    const v = str(row[k]);
    if (v) return v;
  }
  return null;
};

/**
 * A price read serves every payment quoted within this time: OKX allows 20 ticker requests per 2 s
 * per IP, and a quote does not need a fresher price than the payment's own tolerance covers.
 */
const PRICE_TTL_MS = 1_000;

/** OKX answers at most 100 deposits a page. */
const PAGE = 100;
const MAX_PAGES = 50;

/**
 * The platform's own OKX account (OKX_ADMIN_*), used only to receive crypto payments: deposit
 * addresses, deposit history and prices. A separate ccxt instance from the users' trading
 * clients, built from its own configuration, so these keys can never place a user's order.
 * Only ccxt's raw endpoint methods are used: OKX sends amounts as strings and they stay strings.
 * In the api alone (OKX_CALLS=sidecar) the calls run in the OKX call process, like the users' (OkxSidecar).
 */
@Injectable()
export class OkxAdminClient {
  private readonly logger = new Logger(OkxAdminClient.name);
  private instance?: OkxExchange;
  private publicInstance?: OkxExchange;
  private readonly prices = new Map<string, { at: number; load: Promise<string> }>();

  constructor(
    private readonly config: AppConfig,
    @Inject(OKX_CALLS_MODE) private readonly mode: OkxCallsMode,
    private readonly sidecar: OkxSidecar,
  ) {}

  get enabled(): boolean {
    const e = this.config.env;
    return Boolean(e.OKX_ADMIN_API_KEY && e.OKX_ADMIN_SECRET && e.OKX_ADMIN_PASSPHRASE);
  }

  assertEnabled(): void {
    if (!this.enabled) throw PaymentErrors.cryptoNotConfigured('Crypto');
  }

  /** The selected deposit address of `ccy` on `chain` (e.g. USDT-TRC20). */
  async depositAddress(ccy: string, chain: string): Promise<OkxDepositAddress | null> {
    const rows = await this.call('deposit-address', { method: 'privateGetAssetDepositAddress', params: { ccy } });
    const onChain = rows.filter((r) => str(r.chain) === chain);
    const row = onChain.find((r) => r.selected === true || r.selected === 'true') ?? onChain[0];
    if (!row) return null;
    const addrEx = (row.addrEx ?? {}) as Wire;
    return { address: str(row.addr), tag: firstOf(row, ['tag', 'memo', 'pmtId']) ?? firstOf(addrEx, ['comment']) };
  }

  /**
   * Last traded price of `ccy` in USDT, a decimal string, at most PRICE_TTL_MS old: payments quoted
   * together share one read (a failed read is not kept).
   */
  usdtPrice(ccy: string): Promise<string> {
    const hit = this.prices.get(ccy);
    if (hit && Date.now() - hit.at <= PRICE_TTL_MS) return hit.load;
    const entry = { at: Date.now(), load: this.readUsdtPrice(ccy) };
    entry.load.catch(() => {
      if (this.prices.get(ccy) === entry) this.prices.delete(ccy);
    });
    this.prices.set(ccy, entry);
    return entry.load;
  }

  private async readUsdtPrice(ccy: string): Promise<string> {
    const rows = await this.call('ticker', { method: 'publicGetMarketTicker', params: { instId: `${ccy}-USDT` } }, true);
    const last = str(rows[0]?.last);
    if (!last) throw PaymentErrors.provider();
    return last;
  }

  /**
   * Every deposit with ts ≥ `since`, newest first, paging backwards (OKX: `before` = newer than,
   * `after` = older than). Throws on any OKX failure: the caller retries the whole window later.
   */
  async depositsSince(since: number): Promise<OkxDeposit[]> {
    const seen = new Map<string, OkxDeposit>();
    let after: number | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params: Record<string, string> = { before: String(since - 1), limit: String(PAGE) };
      if (after !== undefined) params.after = String(after);
      const rows = await this.call('deposit-history', { method: 'privateGetAssetDepositHistory', params });
      const deposits = rows.map(parseDeposit);
      for (const d of deposits) seen.set(d.depId, d);
      if (deposits.length < PAGE) break;
      const oldest = Math.min(...deposits.map((d) => d.ts));
      // Rows of the same millisecond as the page's oldest are asked again (ts < oldest + 1); depId dedupes.
      const next = oldest + 1;
      if (after !== undefined && next >= after) {
        this.logger.warn({ ts: oldest }, 'More than one page of OKX deposits in one millisecond; the rest is read on the next tick');
        break;
      }
      after = next;
    }
    return [...seen.values()];
  }

  private async call(what: string, call: OkxCall, isPublic = false): Promise<Wire[]> {
    // Outside the try: "not configured" is the caller's 503, not a provider failure.
    if (!isPublic) this.assertEnabled();
    try {
      const res = (await this.run(call, isPublic)) as { code?: string; data?: unknown };
      return Array.isArray(res?.data) ? (res.data as Wire[]) : [];
    } catch (err) {
      // ccxt's message can quote the request; name the kind only, never a key.
      this.logger.warn({ what, error: err instanceof Error ? err.name : 'Error' }, 'OKX admin call failed');
      throw PaymentErrors.provider();
    }
  }

  private run(call: OkxCall, isPublic: boolean): Promise<unknown> {
    if (this.mode === 'in-process') return invokeOkx(isPublic ? this.publicClient() : this.client(), call);
    const e = this.config.env;
    const keys: ExchangeCredentials | null = isPublic
      ? null
      : { exchange: 'okx', apiKey: e.OKX_ADMIN_API_KEY!, secret: e.OKX_ADMIN_SECRET!, passphrase: e.OKX_ADMIN_PASSPHRASE!, sandbox: false };
    return this.sidecar.run({ apiUrl: e.OKX_API_URL }, keys, call);
  }

  private client(): OkxExchange {
    this.assertEnabled();
    this.instance ??= this.build(true);
    return this.instance;
  }

  /** Tickers are public: they work (and are tested) without the admin keys. */
  private publicClient(): OkxExchange {
    this.publicInstance ??= this.build(false);
    return this.publicInstance;
  }

  private build(withKeys: boolean): OkxExchange {
    // Lazy, and ccxt's okx module alone, configured as trading's (newOkxInstance).
    const e = this.config.env;
    const client = newOkxInstance({ apiUrl: e.OKX_API_URL });
    // One instance for the platform's one account: ccxt's own limiter queues its calls.
    client.enableRateLimit = true;
    if (withKeys) {
      client.apiKey = e.OKX_ADMIN_API_KEY!;
      client.secret = e.OKX_ADMIN_SECRET!;
      client.password = e.OKX_ADMIN_PASSPHRASE!;
    }
    return client;
  }

}

function parseDeposit(r: Wire): OkxDeposit {
  const to = str(r.to);
  return {
    depId: str(r.depId),
    txId: str(r.txId),
    ccy: str(r.ccy),
    chain: str(r.chain),
    amt: str(r.amt) || '0',
    to,
    tag: firstOf(r, ['tag', 'memo', 'pmtId']),
    state: str(r.state),
    ts: Number(str(r.ts)),
  };
}
