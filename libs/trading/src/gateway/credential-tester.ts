import { Injectable, Logger } from '@nestjs/common';
import { CredentialTestResult, ExchangeCredentials, ExchangeCredentialTester } from '@torgovo/core';
import { toExchangeError } from './exchange-error-mapping';
import { ExchangeGatewayFactory } from './exchange-gateway.factory';

/**
 * Provides core's EXCHANGE_CREDENTIAL_TESTER: credentials work if the exchange gives their
 * balance. The reason returned is the exchange's message, scrubbed of the credentials.
 */
@Injectable()
export class LiveCredentialTester implements ExchangeCredentialTester {
  private readonly logger = new Logger(LiveCredentialTester.name);

  constructor(private readonly gateways: ExchangeGatewayFactory) {}

  async test(credentials: ExchangeCredentials): Promise<CredentialTestResult> {
    try {
      await this.gateways.forUncachedLive(credentials).fetchBalance();
      return { ok: true };
    } catch (error) {
      const e = toExchangeError(error, [credentials.apiKey, credentials.secret, credentials.passphrase]);
      this.logger.warn({ exchange: credentials.exchange, code: e.code, kind: e.kind }, 'Exchange credential test failed');
      return { ok: false, reason: e.reason };
    }
  }
}
