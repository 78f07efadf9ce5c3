import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  chargeWire,
  checkoutSessionWire,
  customerWire,
  DAY,
  disputeWire,
  eventWire,
  invoicePaymentWire,
  invoiceWire,
  nowSec,
  portalConfigurationWire,
  portalSessionWire,
  refundWire,
  stripeId,
  priceWire,
  subscriptionWire,
  Wire,
} from './stripe-wire';

export interface RecordedStripeRequest {
  method: string;
  path: string;
  params: Wire;
  idempotencyKey: string | null;
  authorization: string | null;
}

interface Reply {
  status: number;
  body: Wire;
}

/**
 * Parses Stripe's form encoding: bracketed keys nest (`metadata[user_id]=…`,
 * `line_items[0][price]=…`), numeric segments make arrays.
 */
export function parseStripeForm(body: string): Wire {
  const root: Wire = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.replace(/\]/g, '').split('[');
    let node: Wire | unknown[] = root;
    path.forEach((seg, i) => {
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(path[i + 1]);
      const slot = node as Record<string, unknown>;
      if (last) {
        slot[seg] = value;
      } else {
        slot[seg] ??= nextIsIndex ? [] : {};
        node = slot[seg] as Wire;
      }
    });
  }
  return root;
}

const error = (status: number, type: string, message: string, code?: string): Reply => ({ status, body: { error: { type, message, ...(code ? { code } : {}) } } });

/**
 * A local Stripe for e2e tests, called by the real stripe library (STRIPE_API_URL). Checks the
 * bearer key, records every request with its Idempotency-Key, and replays the stored answer
 * for a repeated key, as Stripe does. Helpers move time forward (pay, renew, fail) and return
 * the objects a webhook event would carry.
 */
/** One billing period of a recurring price, as the fake counts it (30 or 365 days). */
function periodSeconds(price: Wire): number {
  return ((price.recurring as Wire).interval === 'year' ? 365 : 30) * DAY;
}

export class FakeStripeServer {
  readonly requests: RecordedStripeRequest[] = [];
  readonly customers = new Map<string, Wire>();
  readonly sessions = new Map<string, Wire>();
  readonly subscriptions = new Map<string, Wire>();
  readonly invoices = new Map<string, Wire>();
  /** Prices known to the fake: id → amount in cents and interval. */
  readonly prices = new Map<string, Wire>();
  readonly refunds = new Map<string, Wire>();
  readonly portalConfigurations = new Map<string, Wire>();
  /** invoice id → the PaymentIntent that collected it (only invoices that collected money). */
  readonly paymentIntents = new Map<string, string>();
  /** Charges by id: one per PaymentIntent above, with its running amount_refunded. */
  readonly charges = new Map<string, Wire>();
  readonly disputes = new Map<string, Wire>();
  private readonly idempotent = new Map<string, { params: string; reply: Reply }>();
  private readonly sessionSubscriptionData = new Map<string, Wire>();
  private readonly faults: Array<{ match: (method: string, path: string) => boolean; status: number }> = [];
  private server?: Server;
  url = '';

  constructor(readonly secretKey: string) {}

  addPrice(id: string, cents: number, interval: 'month' | 'year'): void {
    this.prices.set(id, priceWire(id, cents, interval));
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  requestsTo(method: string, path: string | RegExp): RecordedStripeRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** Fault injection: until clearFaults(), the requests `match` selects answer `status` with a Stripe api_error (nothing is done or stored). */
  failRequests(match: (method: string, path: string) => boolean, status = 500): void {
    this.faults.push({ match, status });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  // ---- what happens at Stripe when the customer acts -------------------------------------

  /**
   * The customer pays the Checkout: a subscription and its first invoice are created. With
   * `subscription_data.trial_end` the subscription is `trialing` until then and the first
   * invoice is Stripe's $0 trial invoice.
   */
  completeCheckout(sessionId: string, opts: { periodStart?: number; async?: boolean } = {}): { session: Wire; subscription: Wire; invoice: Wire } {
    const session = this.must(this.sessions, sessionId);
    const price = this.must(this.prices, String((session.line_items as Wire[])[0].price));
    const start = opts.periodStart ?? nowSec();
    const data = this.sessionSubscriptionData.get(sessionId) ?? {};
    const trialEnd = data.trial_end === undefined ? null : Number(data.trial_end);
    const end = trialEnd ?? start + periodSeconds(price);
    const subscription = subscriptionWire({
      customer: String(session.customer),
      price,
      metadata: (data.metadata as Wire) ?? {},
      periodStart: start,
      periodEnd: end,
      ...(trialEnd === null ? {} : { status: 'trialing', trialEnd }),
    });
    const amount = trialEnd === null ? Number(price.unit_amount) : 0;
    // A bank debit (SEPA, ACH) is only started: the invoice stays open until it clears.
    const pending = opts.async === true && amount > 0;
    const invoice = invoiceWire({ subscription, billingReason: 'subscription_create', amount, periodStart: start, periodEnd: end, paid: !pending });
    if (pending) subscription.status = 'incomplete';
    else this.collected(invoice);
    subscription.latest_invoice = invoice.id;
    Object.assign(session, {
      status: 'complete',
      payment_status: pending ? 'unpaid' : trialEnd === null ? 'paid' : 'no_payment_required',
      subscription: subscription.id,
      invoice: invoice.id,
      amount_subtotal: amount,
      amount_total: amount,
    });
    this.subscriptions.set(String(subscription.id), subscription);
    this.invoices.set(String(invoice.id), invoice);
    return { session: this.publicSession(structuredClone(session)), subscription: structuredClone(subscription), invoice: structuredClone(invoice) };
  }

  /** The bank debit started at Checkout clears (or fails): the session's async_payment_succeeded/failed. */
  settleAsyncPayment(sessionId: string, succeeded: boolean): { session: Wire; subscription: Wire; invoice: Wire } {
    const session = this.must(this.sessions, sessionId);
    const invoice = this.must(this.invoices, String(session.invoice));
    const sub = this.must(this.subscriptions, String(session.subscription));
    if (succeeded) {
      Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0, auto_advance: false });
      this.collected(invoice);
      session.payment_status = 'paid';
      sub.status = 'active';
    } else {
      Object.assign(invoice, { status: 'open', auto_advance: false });
      sub.status = 'incomplete_expired';
    }
    return { session: this.publicSession(structuredClone(session)), subscription: structuredClone(sub), invoice: structuredClone(invoice) };
  }

  /** The customer (or the dashboard) switches the subscription to another price, as the Portal's default configuration allows. */
  switchPrice(subscriptionId: string, priceId: string): Wire {
    const sub = this.must(this.subscriptions, subscriptionId);
    ((sub.items as Wire).data as Wire[])[0].price = this.must(this.prices, priceId);
    return structuredClone(sub);
  }

  /** Stripe bills the next period (after a trial: the first paid one): paid moves the period on; unpaid leaves it past_due. */
  renew(subscriptionId: string, paid: boolean): { subscription: Wire; invoice: Wire } {
    const sub = this.must(this.subscriptions, subscriptionId);
    if (sub.status === 'canceled' || sub.cancel_at_period_end) throw new Error(`fake stripe: ${subscriptionId} does not renew (${String(sub.status)}, cancel_at_period_end ${String(sub.cancel_at_period_end)})`);
    const item = ((sub.items as Wire).data as Wire[])[0];
    const start = Number(item.current_period_end);
    const end = start + periodSeconds(item.price as Wire);
    // A credit on the customer's balance (a replaced plan's unused time) is taken off first.
    const customer = this.customers.get(String(sub.customer));
    const balance = Number(customer?.balance ?? 0);
    const price = Number((item.price as Wire).unit_amount);
    const credit = Math.min(price, Math.max(0, -balance));
    const invoice = invoiceWire({ subscription: sub, billingReason: 'subscription_cycle', amount: price - credit, periodStart: start, periodEnd: end, paid });
    Object.assign(invoice, { subtotal: price, total: price - credit, starting_balance: balance, ending_balance: balance + credit });
    if (customer && paid) customer.balance = balance + credit;
    if (!paid) invoice.last_finalization_error = null;
    else this.collected(invoice);
    this.invoices.set(String(invoice.id), invoice);
    sub.latest_invoice = invoice.id;
    if (paid) Object.assign(item, { current_period_start: start, current_period_end: end });
    sub.status = paid ? 'active' : 'past_due';
    return { subscription: structuredClone(sub), invoice: structuredClone(invoice) };
  }

  /** A retried invoice succeeds (dunning recovery). Stripe stops retrying the invoices of a subscription it cancels. */
  payInvoice(invoiceId: string): { subscription: Wire; invoice: Wire } {
    const invoice = this.must(this.invoices, invoiceId);
    const sub = this.must(this.subscriptions, String((invoice.parent as { subscription_details: { subscription: string } }).subscription_details.subscription));
    if (!invoice.auto_advance) throw new Error(`fake stripe: automatic collection of ${invoiceId} stopped (subscription ${String(sub.status)})`);
    const line = ((invoice.lines as Wire).data as Wire[])[0];
    const period = line.period as { start: number; end: number };
    Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0, attempt_count: 2 });
    this.collected(invoice);
    const item = ((sub.items as Wire).data as Wire[])[0];
    Object.assign(item, { current_period_start: period.start, current_period_end: period.end });
    sub.status = 'active';
    return { subscription: structuredClone(sub), invoice: structuredClone(invoice) };
  }

  /**
   * The customer is deleted at Stripe (DELETE /v1/customers/:id, or from the dashboard): only the
   * `{id, object, deleted: true}` stub stays retrievable, its subscriptions still billing are
   * cancelled now, and nothing new can be made for it. null when Stripe does not have it (any more).
   */
  deleteCustomer(customerId: string): Wire | null {
    if (!this.isLiveCustomer(customerId)) return null;
    for (const [id, sub] of this.subscriptions) {
      if (sub.customer === customerId && sub.status !== 'canceled' && sub.status !== 'incomplete_expired') this.cancelSubscription(id, sub);
    }
    const stub = { id: customerId, object: 'customer', deleted: true };
    this.customers.set(customerId, stub);
    return structuredClone(stub);
  }

  /** The period ends on a subscription set to cancel at period end. */
  endAtPeriodEnd(subscriptionId: string): Wire {
    const sub = this.must(this.subscriptions, subscriptionId);
    Object.assign(sub, { status: 'canceled', ended_at: nowSec(), canceled_at: sub.canceled_at ?? nowSec() });
    return structuredClone(sub);
  }

  /**
   * A refund made at Stripe (the dashboard, the API) of the charge that paid `invoiceId`: `cents`
   * (default: all that is left). Returns the objects charge.refunded and refund.created carry.
   */
  refundCharge(invoiceId: string, cents?: number): { charge: Wire; refund: Wire } {
    const charge = this.chargeOfInvoice(invoiceId);
    const reply = this.refund({ payment_intent: charge.payment_intent, ...(cents === undefined ? {} : { amount: String(cents) }) });
    if (reply.status !== 200) throw new Error(`fake stripe: refund refused: ${JSON.stringify(reply.body)}`);
    return { charge: structuredClone(charge), refund: structuredClone(reply.body) };
  }

  /** The cardholder disputes the charge that paid `invoiceId` (or a charge by id); charge.dispute.created carries it. */
  openDispute(invoiceOrChargeId: string): Wire {
    const charge = this.charges.get(invoiceOrChargeId) ?? this.chargeOfInvoice(invoiceOrChargeId);
    const dispute = disputeWire(charge);
    charge.disputed = true;
    this.disputes.set(String(dispute.id), dispute);
    return structuredClone(dispute);
  }

  /** The card network decides (charge.dispute.closed carries it). */
  closeDispute(disputeId: string, status: 'won' | 'lost'): Wire {
    const dispute = this.must(this.disputes, disputeId);
    dispute.status = status;
    return structuredClone(dispute);
  }

  /** A charge of the same Stripe account that pays none of our invoices (a Payment Link sale, another product). */
  foreignCharge(cents: number): Wire {
    const charge = chargeWire({ customer: null, amount: cents, paymentIntent: stripeId('pi') });
    this.charges.set(String(charge.id), charge);
    return structuredClone(charge);
  }

  chargeOfInvoice(invoiceId: string): Wire {
    const pi = this.paymentIntents.get(invoiceId);
    const charge = [...this.charges.values()].find((c) => c.payment_intent === pi);
    if (!pi || !charge) throw new Error(`fake stripe: invoice ${invoiceId} collected nothing`);
    return charge;
  }

  private collected(invoice: Wire): void {
    if (Number(invoice.amount_paid) <= 0) return;
    const pi = stripeId('pi');
    this.paymentIntents.set(String(invoice.id), pi);
    const charge = chargeWire({ customer: invoice.customer, amount: Number(invoice.amount_paid), paymentIntent: pi });
    this.charges.set(String(charge.id), charge);
  }

  /** POST /v1/refunds: of a payment_intent or a charge; `amount` or all that is left, as Stripe does. */
  private refund(params: Wire): Reply {
    const charge = [...this.charges.values()].find((c) => (params.charge ? c.id === params.charge : c.payment_intent === params.payment_intent));
    if (!charge) return error(400, 'invalid_request_error', `No such payment_intent: '${String(params.payment_intent ?? params.charge)}'`, 'resource_missing');
    const left = Number(charge.amount) - Number(charge.amount_refunded);
    if (left <= 0) return error(400, 'invalid_request_error', `Charge ${String(charge.id)} has already been refunded.`, 'charge_already_refunded');
    const amount = params.amount === undefined ? left : Number(params.amount);
    if (amount > left) return error(400, 'invalid_request_error', `Refund amount ($${amount / 100}) is greater than unrefunded amount on charge ($${left / 100})`, 'amount_too_large');
    const r = refundWire(params, amount, String(charge.id));
    r.payment_intent = charge.payment_intent;
    this.refunds.set(String(r.id), r);
    charge.amount_refunded = Number(charge.amount_refunded) + amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    return { status: 200, body: structuredClone(r) };
  }

  event(type: string, object: Wire, created?: number): Wire {
    return eventWire(type, object, created);
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    // GET and DELETE carry their parameters in the query string (stripe-node), others in the body.
    const params = parseStripeForm(req.method === 'GET' || req.method === 'DELETE' ? url.searchParams.toString() || raw : raw);
    const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const authorization = (req.headers.authorization as string | undefined) ?? null;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, params, idempotencyKey, authorization });

    let reply: Reply;
    let replayed = false;
    const fault = this.faults.find((f) => f.match(method, url.pathname));
    if (authorization !== `Bearer ${this.secretKey}`) {
      reply = error(401, 'invalid_request_error', 'Invalid API Key provided');
    } else if (fault) {
      reply = error(fault.status, 'api_error', 'An unknown error occurred');
    } else if (idempotencyKey && method === 'POST' && this.idempotent.has(idempotencyKey)) {
      const stored = this.idempotent.get(idempotencyKey)!;
      replayed = true;
      reply =
        stored.params === raw
          ? stored.reply
          : error(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.');
    } else {
      reply = this.route(method, url.pathname, params);
      if (idempotencyKey && method === 'POST') this.idempotent.set(idempotencyKey, { params: raw, reply });
    }
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'request-id': `req_${Math.random().toString(36).slice(2, 16)}`,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    });
    res.end(JSON.stringify(reply.body));
  }

  private route(method: string, path: string, params: Wire): Reply {
    const ok = (body: Wire): Reply => ({ status: 200, body: structuredClone(body) });
    let m: RegExpMatchArray | null;
    if (method === 'POST' && path === '/v1/customers') {
      const c = customerWire(params);
      this.customers.set(String(c.id), c);
      return ok(c);
    }
    // A deleted customer is still retrievable, as its stub.
    if (method === 'GET' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) return this.found(this.customers, m[1], 'customer', ok);
    if (method === 'DELETE' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) {
      const stub = this.deleteCustomer(m[1]);
      return stub ? ok(stub) : error(404, 'invalid_request_error', `No such customer: '${m[1]}'`, 'resource_missing');
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/invoices\/([^/]+)$/))) return this.found(this.invoices, m[1], 'invoice', ok);
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const items = (params.line_items as Wire[] | undefined) ?? [];
      if (params.mode === 'subscription' && (items.length === 0 || !this.prices.has(String(items[0].price)))) {
        return error(400, 'invalid_request_error', `No such price: '${String(items[0]?.price)}'`, 'resource_missing');
      }
      if (params.customer && !this.isLiveCustomer(String(params.customer))) {
        return error(400, 'invalid_request_error', `No such customer: '${String(params.customer)}'`, 'resource_missing');
      }
      const s = checkoutSessionWire(params);
      if (params.expires_at !== undefined) {
        const at = Number(params.expires_at);
        if (at < nowSec() + 30 * 60 || at > nowSec() + DAY) return error(400, 'invalid_request_error', 'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', 'parameter_invalid_integer');
        s.expires_at = at;
      }
      s.line_items = items;
      this.sessions.set(String(s.id), s);
      this.sessionSubscriptionData.set(String(s.id), (params.subscription_data as Wire) ?? {});
      return ok(this.publicSession(s));
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/))) {
      const s = this.sessions.get(m[1]);
      return s ? ok(this.publicSession(s)) : error(404, 'invalid_request_error', `No such checkout.session: '${m[1]}'`, 'resource_missing');
    }
    if (method === 'POST' && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)\/expire$/))) {
      const s = this.sessions.get(m[1]);
      if (!s) return error(404, 'invalid_request_error', `No such checkout.session: '${m[1]}'`, 'resource_missing');
      if (s.status !== 'open') return error(400, 'invalid_request_error', `Only Checkout Sessions with a status in ["open"] can be expired.`);
      s.status = 'expired';
      return ok(this.publicSession(s));
    }
    if ((m = path.match(/^\/v1\/subscriptions\/([^/]+)$/))) {
      const sub = this.subscriptions.get(m[1]);
      if (!sub) return error(404, 'invalid_request_error', `No such subscription: '${m[1]}'`, 'resource_missing');
      if (method === 'GET') return ok(sub);
      if (method === 'POST') {
        if (sub.status === 'canceled') return error(400, 'invalid_request_error', 'A canceled subscription can only update its cancellation_details and metadata.');
        if (params.cancel_at_period_end !== undefined) {
          sub.cancel_at_period_end = params.cancel_at_period_end === 'true';
          sub.canceled_at = sub.cancel_at_period_end ? nowSec() : null;
        }
        if (params.metadata) sub.metadata = { ...(sub.metadata as Wire), ...(params.metadata as Wire) };
        return ok(sub);
      }
      if (method === 'DELETE') {
        if (sub.status === 'canceled') return error(404, 'invalid_request_error', `No such subscription: '${m[1]}'`, 'resource_missing');
        if (params.prorate === 'true') this.creditUnusedTime(sub, params.invoice_now === 'true');
        this.cancelSubscription(m[1], sub);
        return ok(sub);
      }
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (!this.isLiveCustomer(String(params.customer))) return error(400, 'invalid_request_error', `No such customer: '${String(params.customer)}'`, 'resource_missing');
      if (params.configuration !== undefined && !this.portalConfigurations.has(String(params.configuration))) {
        return error(400, 'invalid_request_error', `No such configuration: '${String(params.configuration)}'`, 'resource_missing');
      }
      return ok({ ...portalSessionWire(params), configuration: params.configuration ?? 'bpc_default' });
    }
    if (method === 'GET' && path === '/v1/billing_portal/configurations') {
      const data = [...this.portalConfigurations.values()].filter((c) => params.active === undefined || String(c.active) === params.active);
      return ok({ object: 'list', data, has_more: false, url: '/v1/billing_portal/configurations' });
    }
    if (method === 'POST' && path === '/v1/billing_portal/configurations') {
      const c = portalConfigurationWire(params);
      this.portalConfigurations.set(String(c.id), c);
      return ok(c);
    }
    if (method === 'GET' && path === '/v1/invoice_payments') {
      // By invoice, or by the PaymentIntent that paid one (payment[type]=payment_intent&payment[payment_intent]=…).
      const byPayment = (params.payment as Wire | undefined)?.payment_intent;
      const invoiceId = byPayment === undefined ? params.invoice : [...this.paymentIntents.entries()].find(([, pi]) => pi === byPayment)?.[0];
      const invoice = this.invoices.get(String(invoiceId));
      const pi = invoice ? this.paymentIntents.get(String(invoice.id)) : undefined;
      const data = invoice && pi && invoice.status === 'paid' ? [invoicePaymentWire(invoice, pi)] : [];
      return ok({ object: 'list', data, has_more: false, url: '/v1/invoice_payments' });
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/charges\/([^/]+)$/))) return this.found(this.charges, m[1], 'charge', ok);
    if (method === 'GET' && (m = path.match(/^\/v1\/disputes\/([^/]+)$/))) return this.found(this.disputes, m[1], 'dispute', ok);
    if (method === 'POST' && path === '/v1/refunds') return this.refund(params);
    return error(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  private cancelSubscription(id: string, sub: Wire): void {
    Object.assign(sub, { status: 'canceled', canceled_at: nowSec(), ended_at: nowSec(), cancellation_details: { comment: null, feedback: null, reason: 'cancellation_requested' } });
    // Stripe stops automatic collection of the subscription's finalized invoices on cancel.
    for (const inv of this.invoices.values()) {
      if (inv.status === 'open' && (inv.parent as { subscription_details: { subscription: string } }).subscription_details.subscription === id) inv.auto_advance = false;
    }
  }

  private isLiveCustomer(id: string): boolean {
    const c = this.customers.get(id);
    return c !== undefined && c.deleted !== true;
  }

  /**
   * Cancel with prorate: the unused share of the current period's price becomes a credit on the
   * customer's balance (with invoice_now, at once, through a $0 final invoice Stripe marks paid).
   */
  private creditUnusedTime(sub: Wire, invoiceNow: boolean): void {
    const item = ((sub.items as Wire).data as Wire[])[0];
    const start = Number(item.current_period_start);
    const end = Number(item.current_period_end);
    const now = Math.min(Math.max(nowSec(), start), end);
    const credit = Math.floor((Number((item.price as Wire).unit_amount) * (end - now)) / (end - start));
    const customer = this.customers.get(String(sub.customer));
    if (!customer || credit <= 0 || !invoiceNow) return;
    customer.balance = Number(customer.balance ?? 0) - credit;
    const invoice = invoiceWire({ subscription: sub, billingReason: 'subscription_cycle', amount: 0, periodStart: now, periodEnd: end, paid: true });
    Object.assign(invoice, { billing_reason: 'subscription_update', subtotal: -credit, total: -credit, starting_balance: 0, ending_balance: -credit });
    this.invoices.set(String(invoice.id), invoice);
  }

  private publicSession(s: Wire): Wire {
    const { line_items: _omit, ...rest } = s;
    return rest;
  }

  private found(map: Map<string, Wire>, id: string, what: string, ok: (b: Wire) => Reply): Reply {
    const v = map.get(id);
    return v ? ok(v) : error(404, 'invalid_request_error', `No such ${what}: '${id}'`, 'resource_missing');
  }

  private must(map: Map<string, Wire>, id: string): Wire {
    const v = map.get(id);
    if (!v) throw new Error(`fake stripe: unknown ${id}`);
    return v;
  }
}
