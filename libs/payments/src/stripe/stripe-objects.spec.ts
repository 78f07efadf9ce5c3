import type Stripe from 'stripe';
import { invoicePeriod, invoicePriceId, invoiceSubscriptionId, invoiceSubscriptionMetadata, isStripeEvent, minorToDecimal, subscriptionPeriod, subscriptionPriceId } from './stripe-objects';

const sub = (o: Record<string, unknown>): Stripe.Subscription => o as unknown as Stripe.Subscription;
const inv = (o: Record<string, unknown>): Stripe.Invoice => o as unknown as Stripe.Invoice;

describe('stripe-objects', () => {
  it('reads the period from the items (current API) and from the top level (older API)', () => {
    expect(subscriptionPeriod(sub({ items: { data: [{ current_period_start: 100, current_period_end: 200 }] } }))).toEqual({ start: new Date(100_000), end: new Date(200_000) });
    expect(subscriptionPeriod(sub({ items: { data: [] }, current_period_start: 10, current_period_end: 20 }))).toEqual({ start: new Date(10_000), end: new Date(20_000) });
    expect(subscriptionPeriod(sub({ items: { data: [] } }))).toBeNull();
  });

  it('finds an invoice subscription under parent, at the top level, or on its lines', () => {
    expect(invoiceSubscriptionId(inv({ parent: { subscription_details: { subscription: 'sub_new' } } }))).toBe('sub_new');
    expect(invoiceSubscriptionId(inv({ parent: null, subscription: 'sub_old' }))).toBe('sub_old');
    expect(invoiceSubscriptionId(inv({ parent: null, lines: { data: [{ parent: { subscription_item_details: { subscription: 'sub_line' } } }] } }))).toBe('sub_line');
    expect(invoiceSubscriptionId(inv({ parent: null, lines: { data: [] } }))).toBeNull();
    expect(invoiceSubscriptionMetadata(inv({ parent: null, subscription_details: { metadata: { subscription_id: 'x' } } }))).toEqual({ subscription_id: 'x' });
  });

  it('takes the service period from the lines, never invoice.period_*', () => {
    expect(invoicePeriod(inv({ period_start: 1, period_end: 1, lines: { data: [{ period: { start: 100, end: 200 } }, { period: { start: 150, end: 300 } }] } }))).toEqual({
      start: new Date(150_000),
      end: new Date(300_000),
    });
  });

  it('converts minor units exactly', () => {
    expect(minorToDecimal(9900)).toBe('99.00');
    expect(minorToDecimal(1)).toBe('0.01');
    expect(minorToDecimal(0)).toBe('0.00');
  });

  it('reads the billed price of a subscription and of an invoice (skipping proration lines)', () => {
    expect(subscriptionPriceId(sub({ items: { data: [{ price: { id: 'price_a' } }] } }))).toBe('price_a');
    expect(subscriptionPriceId(sub({ items: { data: [] } }))).toBeNull();
    const proration = { parent: { subscription_item_details: { proration: true } }, pricing: { price_details: { price: 'price_old' } } };
    expect(invoicePriceId(inv({ lines: { data: [proration, { parent: { subscription_item_details: { proration: false } }, pricing: { price_details: { price: 'price_new' } } }] } }))).toBe('price_new');
    expect(invoicePriceId(inv({ lines: { data: [{ price: { id: 'price_legacy' } }] } }))).toBe('price_legacy');
  });

  it('tells an event object from any other signed body', () => {
    expect(isStripeEvent({ id: 'evt_1', type: 'invoice.paid', created: 1, data: { object: { id: 'in_1' } } })).toBe(true);
    for (const bad of [[], null, 'x', {}, { id: 'evt_1', type: 'x', created: 'now', data: { object: {} } }, { id: 'evt_1', type: 'x', created: 1, data: {} }]) {
      expect(isStripeEvent(bad)).toBe(false);
    }
  });
});
