import { Decimal } from '@torgovo/core';

export const CRYPTO_CURRENCIES = ['BTC', 'ETH', 'USDT', 'USDC', 'SOL', 'BNB'] as const;
export type CryptoCurrency = (typeof CRYPTO_CURRENCIES)[number];

interface CurrencySpec {
  /** Networks we accept, the first is the default; OKX names the chain `${ccy}-${network}`. */
  networks: readonly string[];
  /** Decimals of the amount we ask for (the unit of the uniqueness offset). */
  decimals: number;
  /** Priced at 1 USD (no ticker call). */
  stable: boolean;
}

export const CURRENCY_SPECS: Record<CryptoCurrency, CurrencySpec> = {
  BTC: { networks: ['Bitcoin'], decimals: 8, stable: false },
  ETH: { networks: ['ERC20'], decimals: 8, stable: false },
  USDT: { networks: ['TRC20', 'ERC20'], decimals: 6, stable: true },
  USDC: { networks: ['ERC20'], decimals: 6, stable: true },
  SOL: { networks: ['Solana'], decimals: 6, stable: false },
  BNB: { networks: ['BSC'], decimals: 8, stable: false },
};

export function isCryptoCurrency(value: string): value is CryptoCurrency {
  return (CRYPTO_CURRENCIES as readonly string[]).includes(value);
}

/** The accepted network, by name case-insensitively; undefined = the currency's default; null = not accepted. */
export function resolveNetwork(ccy: CryptoCurrency, network: string | undefined): string | null {
  const networks = CURRENCY_SPECS[ccy].networks;
  if (network === undefined) return networks[0];
  return networks.find((n) => n.toLowerCase() === network.toLowerCase()) ?? null;
}

export function okxChain(ccy: string, network: string): string {
  return `${ccy}-${network}`;
}

/** Most offsets a payment amount may carry above its base price, in units of the currency's last decimal. */
export const MAX_AMOUNT_OFFSET_UNITS = 999;

/**
 * The base crypto amount for a USD price: rounded up to the currency's decimals, so the payer
 * never sends less than the price. `usdPrice` is the USD value of one coin.
 */
export function baseCryptoAmount(amountUsd: string, usdPrice: string, ccy: CryptoCurrency): Decimal {
  const price = new Decimal(usdPrice);
  if (!price.isFinite() || price.lte(0)) throw new Error(`no usable price for ${ccy}`);
  return new Decimal(amountUsd).div(price).toDecimalPlaces(CURRENCY_SPECS[ccy].decimals, Decimal.ROUND_UP);
}

/**
 * The amount asked of one payment: base + k units (1 ≤ k ≤ MAX_AMOUNT_OFFSET_UNITS), with k
 * not among `taken` (amounts of the open payments on the same address). Deposits carry no
 * sender, so this amount is what attributes a deposit to this payment. null = every offset is taken.
 * Amounts in `recent` (quotes closed within the deposit lookback) are avoided while another is
 * free: the matcher refuses a deposit whose exact amount two quotes asked (it cannot tell whose).
 */
export function uniqueCryptoAmount(
  base: Decimal,
  ccy: CryptoCurrency,
  taken: readonly string[],
  random: () => number = Math.random,
  recent: readonly string[] = [],
): string | null {
  const decimals = CURRENCY_SPECS[ccy].decimals;
  const unit = new Decimal(1).div(new Decimal(10).pow(decimals));
  const used = new Set(taken.map((t) => new Decimal(t).toFixed(decimals)));
  const seen = new Set(recent.map((t) => new Decimal(t).toFixed(decimals)));
  const free: number[] = [];
  const fresh: number[] = [];
  for (let k = 1; k <= MAX_AMOUNT_OFFSET_UNITS; k++) {
    const amount = base.plus(unit.times(k)).toFixed(decimals);
    if (used.has(amount)) continue;
    free.push(k);
    if (!seen.has(amount)) fresh.push(k);
  }
  const pool = fresh.length > 0 ? fresh : free;
  if (pool.length === 0) return null;
  const k = pool[Math.floor(random() * pool.length)];
  return base.plus(unit.times(k)).toFixed(decimals);
}
