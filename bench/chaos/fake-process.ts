// The fake OKX or the fake Stripe (test/fakes) as a process of its own, for bench/chaos: the fake's
// own port, plus a control port the driver uses to add accounts, arm faults, move Stripe time and
// read the fake's record at the end. Prints one JSON line when ready: { url, control }.
// Run: npx ts-node -T -r tsconfig-paths/register bench/chaos/fake-process.ts okx|stripe [stripe secret key]
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeOkxServer, OkxFault, OrderFault } from '../../test/fakes/okx/fake-okx-server';
import { FakeStripeServer } from '../../test/fakes/stripe/fake-stripe-server';
import type { Wire } from '../../test/fakes/stripe/stripe-wire';

export interface FakeReady {
  url: string;
  control: string;
}

/** Probabilities per order placement (the rest is answered normally). */
export interface OkxChaos {
  drop: number;
  hang_after: number;
  hang_before: number;
}

export interface ExchangeRecordRow {
  api_key: string;
  cl_ord_id: string;
  ord_id: string;
  /** When the order arrived at the exchange (ms since epoch, this machine's clock). */
  arrived_at: number;
  state: string;
  filled: string;
  side: string;
}

type Handler = (body: Wire) => unknown;

async function serveControl(routes: Record<string, Handler>): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const route = routes[`${req.method} ${req.url}`];
      try {
        if (!route) throw new Error(`no control route ${req.method} ${req.url}`);
        const out = route(text ? (JSON.parse(text) as Wire) : {});
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? {}));
      } catch (error) {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (error as Error).message }));
      }
    })();
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function okx(): Promise<FakeReady> {
  const fake = await new FakeOkxServer().start();
  let chaos: OkxChaos = { drop: 0, hang_after: 0, hang_before: 0 };
  fake.orderFault = (): OrderFault | undefined => {
    const r = Math.random();
    if (r < chaos.drop) return 'drop';
    if (r < chaos.drop + chaos.hang_after) return 'hang_after';
    if (r < chaos.drop + chaos.hang_after + chaos.hang_before) return 'hang_before';
    return undefined;
  };
  const control = await serveControl({
    'POST /accounts': (b) =>
      Array.from({ length: Number(b.n ?? 1) }, () => {
        const a = fake.addAccount({ balances: { USDT: '1000000000', BTC: '1000' } });
        return { api_key: a.apiKey, secret: a.secret, passphrase: a.passphrase };
      }),
    'POST /chaos': (b) => {
      chaos = { drop: Number(b.drop ?? 0), hang_after: Number(b.hang_after ?? 0), hang_before: Number(b.hang_before ?? 0) };
      if (b.hang_ms !== undefined) fake.hangMs = Number(b.hang_ms);
      return chaos;
    },
    /** A burst: the next `times` requests to `path` (all when unset) answer 429 or 5xx. */
    'POST /burst': (b) => fake.inject(b.kind as OkxFault, { times: Number(b.times ?? 5), path: b.path as string | undefined, status: b.status as number | undefined }),
    'POST /calm': () => {
      chaos = { drop: 0, hang_after: 0, hang_before: 0 };
      fake.clearFaults();
    },
    'GET /record': (): ExchangeRecordRow[] =>
      [...fake.exchange.accounts.values()].flatMap((a) =>
        [...a.orders.values()].map((o) => ({ api_key: a.apiKey, cl_ord_id: o.clOrdId, ord_id: o.ordId, arrived_at: o.cTime, state: o.state, filled: o.accFillSz, side: o.side })),
      ),
  });
  return { url: fake.url, control };
}

async function stripe(secretKey: string): Promise<FakeReady> {
  const fake = new FakeStripeServer(secretKey);
  const url = await fake.start();
  const events = (pairs: Array<[string, Wire]>) => pairs.map(([type, object]) => fake.event(type, object));
  const control = await serveControl({
    'POST /prices': (b) => {
      for (const [id, cents, interval] of b.prices as Array<[string, number, 'month' | 'year']>) fake.addPrice(id, cents, interval);
    },
    /** The customer pays the Checkout: the events Stripe would send for it. */
    'POST /complete': (b) => {
      const paid = fake.completeCheckout(String(b.session_id));
      return {
        subscription_id: paid.subscription.id,
        invoice_id: paid.invoice.id,
        events: events([
          ['checkout.session.completed', paid.session],
          ['customer.subscription.created', paid.subscription],
          ['invoice.paid', paid.invoice],
        ]),
      };
    },
    /** Stripe bills the next period and collects it. */
    'POST /renew': (b) => {
      const paid = fake.renew(String(b.subscription_id), true);
      return {
        invoice_id: paid.invoice.id,
        events: events([
          ['invoice.paid', paid.invoice],
          ['customer.subscription.updated', paid.subscription],
        ]),
      };
    },
    'GET /record': () => ({
      paid_invoices: [...fake.invoices.values()]
        .filter((i) => i.status === 'paid' && Number(i.amount_paid) > 0)
        .map((i) => ({ id: i.id, amount_paid: i.amount_paid })),
      /** Invoices whose payment was refunded (a payment the platform could not apply gives the money back). */
      refunded_invoices: [...fake.refunds.values()].map((r) => [...fake.paymentIntents.entries()].find(([, pi]) => pi === r.payment_intent)?.[0] ?? null),
    }),
  });
  return { url, control };
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const ready = kind === 'okx' ? await okx() : kind === 'stripe' ? await stripe(process.argv[3] ?? 'sk_test_chaos') : null;
  if (!ready) throw new Error('usage: fake-process.ts okx|stripe [secret key]');
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
