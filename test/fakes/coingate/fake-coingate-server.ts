import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from '../local-http-server';

// CoinGate API v2 wire shapes, from CoinGate's API reference (developer.coingate.com: Create
// Order, Get Order, Payment Callback): amounts are strings, ids integers, times ISO 8601.

export type CoinGateStatus = 'new' | 'pending' | 'confirming' | 'paid' | 'invalid' | 'expired' | 'canceled' | 'refunded';

export interface FakeCoinGateOrder {
  id: number;
  status: CoinGateStatus;
  title: string;
  description: string;
  order_id: string;
  price_amount: string;
  price_currency: string;
  receive_currency: string;
  receive_amount: string;
  pay_amount: string | null;
  pay_currency: string | null;
  callback_url: string;
  success_url: string;
  cancel_url: string;
  token: string;
  payment_url: string;
  created_at: string;
}

export interface RecordedCoinGateRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

/** A local CoinGate: creates and serves orders for one API token; tests move orders through their statuses. */
export class FakeCoinGateServer {
  readonly orders = new Map<number, FakeCoinGateOrder>();
  readonly requests: RecordedCoinGateRequest[] = [];
  private readonly http = new LocalHttpServer('FakeCoinGateServer');
  private nextId = 1387;
  private failures = 0;

  constructor(readonly apiToken: string) {}

  get url(): string {
    return this.http.url;
  }

  async start(): Promise<this> {
    await this.http.start((req, res) => void this.handle(req, res));
    return this;
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** The next `n` requests answer 500. */
  failNext(n: number): void {
    this.failures = n;
  }

  byOrderId(orderId: string): FakeCoinGateOrder | undefined {
    return [...this.orders.values()].find((o) => o.order_id === orderId);
  }

  /** The payer pays (or the order lapses): what CoinGate's own state becomes. */
  setStatus(id: number, status: CoinGateStatus, pay?: { amount: string; currency: string }): FakeCoinGateOrder {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no order ${id}`);
    o.status = status;
    if (pay) {
      o.pay_amount = pay.amount;
      o.pay_currency = pay.currency;
      o.receive_amount = pay.amount;
    }
    return o;
  }

  /** The form body CoinGate POSTs to callback_url for this order (fields of its Payment Callback). */
  callbackForm(o: FakeCoinGateOrder, overrides: Record<string, string> = {}): string {
    return new URLSearchParams({
      id: String(o.id),
      order_id: o.order_id,
      status: o.status,
      pay_amount: o.pay_amount ?? '',
      pay_currency: o.pay_currency ?? '',
      price_amount: o.price_amount,
      price_currency: o.price_currency,
      receive_currency: o.receive_currency,
      receive_amount: o.receive_amount,
      created_at: o.created_at,
      token: o.token,
      underpaid_amount: '0',
      overpaid_amount: '0',
      is_refundable: 'false',
      ...overrides,
    }).toString();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, authorization: req.headers.authorization, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (this.failures > 0) {
      this.failures -= 1;
      return send(500, { message: 'Internal Server Error', reason: 'InternalServerError' });
    }
    if (req.headers.authorization !== `Token ${this.apiToken}`) {
      return send(401, { message: 'Not authorized. Please check API credentials.', reason: 'BadAuthToken' });
    }
    if (method === 'POST' && path === '/api/v2/orders') return send(...this.create(body, req.headers['content-type'] ?? ''));
    const m = /^\/api\/v2\/orders\/(\d+)$/.exec(path);
    if (method === 'GET' && m) {
      const o = this.orders.get(Number(m[1]));
      return o ? send(200, this.wire(o)) : send(404, { message: 'Order not found', reason: 'OrderNotFound' });
    }
    return send(404, { message: 'Not found', reason: 'NotFound' });
  }

  private create(body: string, contentType: string): [number, unknown] {
    const f = contentType.includes('json') ? (JSON.parse(body) as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
    const missing = ['price_amount', 'price_currency', 'receive_currency'].filter((k) => !f[k]);
    if (missing.length > 0) return [422, { message: 'Order is not valid', reason: 'OrderIsNotValid', errors: missing.map((k) => `${k} is required`) }];
    const id = this.nextId++;
    const o: FakeCoinGateOrder = {
      id,
      status: 'new',
      title: f.title ?? '',
      description: f.description ?? '',
      order_id: f.order_id ?? '',
      price_amount: f.price_amount,
      price_currency: f.price_currency,
      receive_currency: f.receive_currency,
      receive_amount: '0.0',
      pay_amount: null,
      pay_currency: null,
      callback_url: f.callback_url ?? '',
      success_url: f.success_url ?? '',
      cancel_url: f.cancel_url ?? '',
      token: f.token ?? '',
      payment_url: `${this.url}/invoice/${randomUUID()}`,
      created_at: new Date().toISOString(),
    };
    this.orders.set(id, o);
    return [200, this.wire(o)];
  }

  private wire(o: FakeCoinGateOrder): Record<string, unknown> {
    return {
      id: o.id,
      status: o.status,
      title: o.title,
      do_not_convert: o.receive_currency === 'DO_NOT_CONVERT',
      orderable_type: 'ApiApp',
      orderable_id: 1,
      price_currency: o.price_currency,
      price_amount: o.price_amount,
      pay_currency: o.pay_currency,
      pay_amount: o.pay_amount,
      lightning_network: false,
      receive_currency: o.receive_currency,
      receive_amount: o.receive_amount,
      created_at: o.created_at,
      order_id: o.order_id,
      payment_url: o.payment_url,
      underpaid_amount: '0.0',
      overpaid_amount: '0.0',
      is_refundable: o.status === 'paid',
      refunds: [],
      voids: [],
      fees: [],
      token: o.token,
    };
  }
}
