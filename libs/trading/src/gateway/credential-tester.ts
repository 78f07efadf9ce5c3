import { Injectable, Logger } from '@nestjs/common';
import { CredentialTestResult, ExchangeCredentials, ExchangeCredentialTester } from '@torgovo/core';
import { credentialFailureReason } from './credential-failure';
import { toExchangeError } from './exchange-error-mapping';
import { ExchangeGatewayFactory } from './exchange-gateway.factory';

/**
 * Provides core's EXCHANGE_CREDENTIAL_TESTER: credentials work if the exchange says what the key may
 * do (its permissions and IP binding, read on every connect) and gives the balance. The reason
 * returned is in a trader's words (credential-failure.ts); the exchange's own message, scrubbed of
 * the credentials, goes to the log only.
 */
@Injectable()
export class LiveCredentialTester implements ExchangeCredentialTester {
  private readonly logger = new Logger(LiveCredentialTester.name);

  constructor(private readonly gateways: ExchangeGatewayFactory) {}

  async test(credentials: ExchangeCredentials): Promise<CredentialTestResult> {
    try {
      const gateway = this.gateways.forUncachedLive(credentials);
      const permissions = await gateway.fetchKeyPermissions();
      // A key that can withdraw is refused by the caller without touching the account further.
      if (!permissions.withdraw) await gateway.fetchBalance();
      return { ok: true, permissions };
    } catch (error) {
      const e = toExchangeError(error, [credentials.apiKey, credentials.secret, credentials.passphrase]);
      this.logger.warn({ exchange: credentials.exchange, code: e.code, kind: e.kind, exchange_code: e.exchangeCode, reason: e.reason }, 'Exchange credential test failed');
      return { ok: false, reason: credentialFailureReason(e) };
    }
  }
}
