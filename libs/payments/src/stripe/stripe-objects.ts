import type Stripe from 'stripe';
import { Decimal } from '@torgovo/core';

/**
 * Reading Stripe objects across API versions. Since 2025-03-31 the subscription period
 * lives on its items and an invoice names its subscription under parent.subscription_details;
 * older versions (and webhook endpoints pinned to them) send the top-level fields.
 */
export interface StripePeriod {
  start: Date;
  end: Date;
}

type Loose = Record<string, unknown>;

const asRecord = (v: unknown): Loose | null => (v !== null && typeof v === 'object' ? (v as Loose) : null);
const asNumber = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const fromUnix = (seconds: number): Date => new Date(seconds * 1000);

/** An expandable field: the id string or the expanded object. */
export function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  const r = asRecord(v);
  return r && typeof r.id === 'string' ? r.id : null;
}

function period(start: unknown, end: unknown): StripePeriod | null {
  const s = asNumber(start);
  const e = asNumber(end);
  return s !== null && e !== null && e > s ? { start: fromUnix(s), end: fromUnix(e) } : null;
}

/** Current period: the widest over the items (new API), else the top-level fields (old API). */
export function subscriptionPeriod(sub: Stripe.Subscription): StripePeriod | null {
  const periods = (sub.items?.data ?? [])
    .map((item) => period(item.current_period_start, item.current_period_end))
    .filter((p): p is StripePeriod => p !== null);
  if (periods.length > 0) {
    return { start: new Date(Math.min(...periods.map((p) => p.start.getTime()))), end: new Date(Math.max(...periods.map((p) => p.end.getTime()))) };
  }
  const legacy = sub as unknown as Loose;
  return period(legacy.current_period_start, legacy.current_period_end);
}

export function invoiceSubscriptionId(inv: Stripe.Invoice): string | null {
  const fromParent = idOf(inv.parent?.subscription_details?.subscription);
  if (fromParent) return fromParent;
  const legacy = idOf((inv as unknown as Loose).subscription);
  if (legacy) return legacy;
  for (const line of inv.lines?.data ?? []) {
    const l = line as unknown as Loose;
    const id = idOf(asRecord(asRecord(l.parent)?.subscription_item_details)?.subscription) ?? idOf(l.subscription);
    if (id) return id;
  }
  return null;
}

/** The metadata we put on the subscription at checkout, as Stripe copies it onto its invoices. */
export function invoiceSubscriptionMetadata(inv: Stripe.Invoice): Record<string, string> {
  const fromParent = inv.parent?.subscription_details?.metadata;
  if (fromParent) return fromParent;
  const legacy = asRecord(asRecord((inv as unknown as Loose).subscription_details)?.metadata);
  return (legacy as Record<string, string> | null) ?? {};
}

/**
 * The service period an invoice pays for: its subscription lines' period. invoice.period_start/end
 * are the previous period's for renewal invoices, so they are not used.
 */
export function invoicePeriod(inv: Stripe.Invoice): StripePeriod | null {
  let best: StripePeriod | null = null;
  for (const line of inv.lines?.data ?? []) {
    const p = period(line.period?.start, line.period?.end);
    if (p && (!best || p.end > best.end)) best = p;
  }
  return best;
}

/** Stripe amounts are integers in the currency's minor unit; two-decimal currencies only (USD prices). */
export function minorToDecimal(amount: number): string {
  return new Decimal(amount).div(100).toFixed(2);
}

/** The price a subscription bills now: its (single) item's price. */
export function subscriptionPriceId(sub: Stripe.Subscription): string | null {
  return idOf(sub.items?.data?.[0]?.price);
}

/**
 * The recurring price an invoice charges: its subscription line's price (new API: pricing.price_details;
 * old API: line.price). Proration lines are skipped: they carry the previous price too.
 */
export function invoicePriceId(inv: Stripe.Invoice): string | null {
  for (const line of inv.lines?.data ?? []) {
    const l = line as unknown as Loose;
    const details = asRecord(asRecord(l.parent)?.subscription_item_details);
    if (details?.proration === true || l.proration === true) continue;
    const price = idOf(asRecord(asRecord(l.pricing)?.price_details)?.price) ?? idOf(l.price);
    if (price) return price;
  }
  return null;
}

/** A verified body that is not an event object (Stripe signs what it sends; a replayed or crafted `[]` is not one). */
export function isStripeEvent(v: unknown): v is Stripe.Event {
  const e = asRecord(v);
  if (!e || Array.isArray(v)) return false;
  return typeof e.id === 'string' && e.id.length > 0 && typeof e.type === 'string' && Number.isInteger(e.created) && asRecord(asRecord(e.data)?.object) !== null;
}
