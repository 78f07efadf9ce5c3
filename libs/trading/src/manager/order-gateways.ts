import { Injectable } from '@nestjs/common';
import { DecryptedCredentials, ExchangeCredentialsService } from '@torgovo/users';
import type { ExchangeGateway } from '../gateway/exchange-gateway';
import { ExchangeGatewayFactory } from '../gateway/exchange-gateway.factory';
import type { OrderRecord } from '../orders/entities/order.entity';

/** The order cannot be sent at all (no exchange connected, another exchange): reject, never retry. */
export class OrderNotExecutable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'OrderNotExecutable';
  }
}

export type GatewayTarget = Pick<OrderRecord, 'user_id' | 'mode' | 'exchange' | 'credential_id'>;

/** What a new placement goes through, and the keys' record (null on paper). */
export interface GatewayPlacement {
  gateway: ExchangeGateway;
  credentialId: string | null;
}

/**
 * Live keys are decrypted here, at the moment of use, and handed straight to a gateway made for this
 * use (it signs each call with them through a pooled ccxt instance, see OkxClientPool); they are
 * never logged nor kept anywhere else.
 */
@Injectable()
export class OrderGateways {
  constructor(
    private readonly factory: ExchangeGatewayFactory,
    private readonly credentials: ExchangeCredentialsService,
  ) {}

  /**
   * Where the order was sent, to look it up: the paper account, or the very keys it was first sent
   * with (even if replaced or disconnected since). null: those keys are gone (purged, or the order
   * predates the record of its credential and no keys are connected).
   */
  async whereSent(order: GatewayTarget): Promise<ExchangeGateway | null> {
    if (order.mode === 'paper') return this.factory.forPaper(order.user_id);
    const creds = order.credential_id
      ? await this.credentials.decryptedById(order.user_id, order.credential_id)
      : await this.credentials.decryptedFor(order.user_id);
    if (!creds || creds.exchange !== order.exchange) return null;
    return this.factory.forLive(creds);
  }

  /** What a new placement goes through: the paper account, or the user's current keys (null: none connected). */
  async current(order: GatewayTarget): Promise<GatewayPlacement | null> {
    return this.placementVia(order, order.mode === 'paper' ? null : await this.credentials.decryptedFor(order.user_id));
  }

  /**
   * current() for a batch of orders, with one read of the live keys for all of them: order id →
   * its gateway and credential (null: no keys connected, or keys for another exchange).
   */
  async currentMany(orders: ReadonlyArray<GatewayTarget & { id: string }>): Promise<Map<string, GatewayPlacement | null>> {
    const keys = await this.credentials.decryptedForMany(orders.filter((o) => o.mode !== 'paper').map((o) => o.user_id));
    return new Map(orders.map((order) => [order.id, this.placementVia(order, keys.get(order.user_id) ?? null)]));
  }

  /** The paper account, or the live keys `creds` when they are for the order's exchange (null otherwise). */
  private placementVia(order: GatewayTarget, creds: DecryptedCredentials | null): GatewayPlacement | null {
    if (order.mode === 'paper') return { gateway: this.factory.forPaper(order.user_id), credentialId: null };
    if (!creds || creds.exchange !== order.exchange) return null;
    return { gateway: this.factory.forLive(creds), credentialId: creds.credentialId };
  }

  /** An `open` order: where it was sent; throws when that is no longer reachable. */
  async forOrder(order: GatewayTarget): Promise<ExchangeGateway> {
    const gateway = await this.whereSent(order);
    if (!gateway) throw new OrderNotExecutable('credential_changed: the exchange keys this order was sent with are no longer stored');
    return gateway;
  }
}
