import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@torgovo/core';
import { PaymentErrors } from '../errors';

/** The fields of a CoinGate v2 order we read (https://developer.coingate.com: Create Order, Get Order). */
export interface CoinGateOrder {
  id: number;
  order_id: string | null;
  status: string;
  price_amount: string;
  price_currency: string;
  pay_amount: string | null;
  pay_currency: string | null;
  payment_url: string | null;
}

export interface CreateCoinGateOrder {
  order_id: string;
  price_amount: string;
  price_currency: 'USD';
  receive_currency: string;
  title: string;
  description: string;
  callback_url: string;
  success_url: string;
  cancel_url: string;
  token: string;
}

const DEFAULT_URL = 'https://api.coingate.com';
const TIMEOUT_MS = 10_000;

/** CoinGate's REST API with the platform's token (`Authorization: Token …`). */
@Injectable()
export class CoinGateClient {
  private readonly logger = new Logger(CoinGateClient.name);

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return Boolean(this.config.env.COINGATE_API_TOKEN);
  }

  assertEnabled(): void {
    if (!this.enabled) throw PaymentErrors.cryptoNotConfigured('CoinGate');
  }

  createOrder(order: CreateCoinGateOrder): Promise<CoinGateOrder> {
    return this.call('POST', '/api/v2/orders', new URLSearchParams({ ...order }));
  }

  getOrder(id: string): Promise<CoinGateOrder> {
    return this.call('GET', `/api/v2/orders/${encodeURIComponent(id)}`);
  }

  private async call(method: string, path: string, form?: URLSearchParams): Promise<CoinGateOrder> {
    this.assertEnabled();
    const base = (this.config.env.COINGATE_API_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: {
          authorization: `Token ${this.config.env.COINGATE_API_TOKEN}`,
          accept: 'application/json',
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: form?.toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      this.logger.warn({ method, path, error: (err as Error).name }, 'CoinGate unreachable');
      throw PaymentErrors.provider();
    }
    const text = await res.text();
    if (!res.ok) {
      // CoinGate's error bodies are {message, reason}; they quote no token.
      this.logger.warn({ method, path, status: res.status, body: text.slice(0, 300) }, 'CoinGate refused the call');
      throw PaymentErrors.provider();
    }
    const o = JSON.parse(text) as Record<string, unknown>;
    const s = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));
    return {
      id: Number(o.id),
      order_id: s(o.order_id),
      status: String(o.status ?? ''),
      price_amount: String(o.price_amount ?? ''),
      price_currency: String(o.price_currency ?? ''),
      pay_amount: s(o.pay_amount),
      pay_currency: s(o.pay_currency),
      payment_url: s(o.payment_url),
    };
  }
}
