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

export type CredentialTestResult = { ok: true } | { ok: false; reason: string };

export interface ExchangeCredentialTester {
  test(credentials: ExchangeCredentials): Promise<CredentialTestResult>;
}

/** Exchanges a user may connect; ccxt supports more, each needs a fake and tests first. */
export const SUPPORTED_EXCHANGES = ['okx'] as const;
export type SupportedExchange = (typeof SUPPORTED_EXCHANGES)[number];
