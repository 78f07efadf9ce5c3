/**
 * Users own credentials, trading owns the exchange: users depend on this interface,
 * trading provides it (dependency inversion keeps `core ← users ← … ← trading`).
 */
export const EXCHANGE_CREDENTIAL_TESTER = Symbol('EXCHANGE_CREDENTIAL_TESTER');

export interface ExchangeCredentials {
  exchange: string;
  apiKey: string;
  secret: string;
  passphrase?: string | null;
  sandbox: boolean;
}

/** What an exchange key may do, as the exchange reports it (OKX: GET /api/v5/account/config). */
export interface KeyPermissions {
  read: boolean;
  trade: boolean;
  withdraw: boolean;
  /** The exchange's own words (OKX `perm`: read_only, trade, withdraw). */
  raw: string[];
  /** Addresses the key is bound to; empty: not bound to any IP. */
  ip_whitelist: string[];
}

/** `reason` is in a trader's words (never our URLs, hosts or resolver errors). */
export type CredentialTestResult = { ok: true; permissions: KeyPermissions } | { ok: false; reason: string };

export interface ExchangeCredentialTester {
  test(credentials: ExchangeCredentials): Promise<CredentialTestResult>;
}

/** Exchanges a user may connect; ccxt supports more, each needs a fake and tests first. */
export const SUPPORTED_EXCHANGES = ['okx'] as const;
export type SupportedExchange = (typeof SUPPORTED_EXCHANGES)[number];
