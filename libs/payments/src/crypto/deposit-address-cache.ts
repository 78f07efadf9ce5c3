import { Injectable } from '@nestjs/common';
import { PaymentErrors } from '../errors';
import { okxChain } from './crypto-currencies';
import { OkxAdminClient, OkxDepositAddress } from './okx-admin-client';

const TTL_MS = 60 * 60_000;

/**
 * The platform's deposit address per currency and network, asked of OKX at most once an hour
 * per process (OKX allows 6 requests/s for it). Payments store the address they were given, so
 * a rotated address still matches the deposits sent to the old one.
 */
@Injectable()
export class DepositAddressCache {
  private readonly entries = new Map<string, { value: OkxDepositAddress; at: number }>();

  constructor(private readonly okx: OkxAdminClient) {}

  async get(ccy: string, network: string): Promise<OkxDepositAddress> {
    const chain = okxChain(ccy, network);
    const hit = this.entries.get(chain);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const value = await this.okx.depositAddress(ccy, chain);
    // The account has no address on this chain: nothing a retry fixes, an operator must add one.
    if (!value?.address) throw PaymentErrors.cryptoNotConfigured(`${chain} deposit`);
    this.entries.set(chain, { value, at: Date.now() });
    return value;
  }
}
