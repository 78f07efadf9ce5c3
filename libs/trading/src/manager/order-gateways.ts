import { Injectable } from '@nestjs/common';
import { ExchangeCredentialsService } from '@torgovo/users';
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

export type GatewayTarget = Pick<OrderRecord, 'user_id' | 'mode' | 'exchange'>;

@Injectable()
export class OrderGateways {
  constructor(
    private readonly factory: ExchangeGatewayFactory,
    private readonly credentials: ExchangeCredentialsService,
  ) {}

  /**
   * Live keys are decrypted here, at the moment of use, and handed straight to the factory's
   * per-user ccxt client; they are never logged nor kept anywhere else.
   */
  async forOrder(order: GatewayTarget): Promise<ExchangeGateway> {
    if (order.mode === 'paper') return this.factory.forPaper(order.user_id);
    const creds = await this.credentials.decryptedFor(order.user_id);
    if (!creds) throw new OrderNotExecutable('exchange_not_connected');
    if (creds.exchange !== order.exchange) {
      throw new OrderNotExecutable(`exchange_mismatch: the order is for ${order.exchange}, the connected exchange is ${creds.exchange}`);
    }
    return this.factory.forLive(creds);
  }
}
