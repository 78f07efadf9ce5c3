import { randomBytes } from 'node:crypto';

/**
 * Stripe objects as the API returns them, built from Stripe's own examples
 * (stripe/openapi openapi/fixtures3.json: customer, checkout.session, subscription, invoice,
 * billing_portal.session, event), moved to the current API shape: the period on subscription
 * items, and an invoice naming its subscription under parent.subscription_details.
 */
export type Wire = Record<string, unknown>;

export const nowSec = (): number => Math.floor(Date.now() / 1000);
export const DAY = 86_400;

export function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function customerWire(params: Wire): Wire {
  return {
    id: stripeId('cus'),
    object: 'customer',
    address: null,
    balance: 0,
    created: nowSec(),
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: (params.email as string | undefined) ?? null,
    invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: (params.metadata as Wire | undefined) ?? {},
    name: (params.name as string | undefined) ?? null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

export function checkoutSessionWire(params: Wire): Wire {
  const id = `cs_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'a')}`;
  return {
    id,
    object: 'checkout.session',
    after_expiration: null,
    allow_promotion_codes: params.allow_promotion_codes === 'true' || params.allow_promotion_codes === true,
    amount_subtotal: null,
    amount_total: null,
    automatic_tax: { enabled: false, status: null },
    billing_address_collection: null,
    cancel_url: params.cancel_url ?? null,
    client_reference_id: params.client_reference_id ?? null,
    consent: null,
    consent_collection: null,
    created: nowSec(),
    currency: 'usd',
    custom_fields: [],
    custom_text: { shipping_address: null, submit: null },
    customer: params.customer ?? null,
    customer_creation: null,
    customer_details: null,
    customer_email: null,
    expires_at: nowSec() + DAY,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    metadata: (params.metadata as Wire | undefined) ?? {},
    mode: params.mode ?? 'payment',
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'always',
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    phone_number_collection: { enabled: false },
    recovered_from: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_details: null,
    shipping_options: [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: params.success_url ?? null,
    total_details: null,
    url: `https://checkout.stripe.com/c/pay/${id}`,
  };
}

export function priceWire(priceId: string, unitAmount: number, interval: 'month' | 'year'): Wire {
  return {
    id: priceId,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: 1679492997,
    currency: 'usd',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: 'prod_NZbFOV0OmNHxwl',
    recurring: { interval, interval_count: 1, usage_type: 'licensed' },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: unitAmount,
    unit_amount_decimal: String(unitAmount),
  };
}

export interface SubscriptionInput {
  customer: string;
  price: Wire;
  metadata: Wire;
  periodStart: number;
  periodEnd: number;
  status?: string;
  trialEnd?: number | null;
}

export function subscriptionWire(input: SubscriptionInput): Wire {
  const id = stripeId('sub');
  return {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false },
    billing_cycle_anchor: input.periodStart,
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    created: input.periodStart,
    currency: 'usd',
    customer: input.customer,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    items: {
      object: 'list',
      data: [
        {
          id: stripeId('si'),
          object: 'subscription_item',
          billing_thresholds: null,
          created: input.periodStart,
          current_period_start: input.periodStart,
          current_period_end: input.periodEnd,
          metadata: {},
          price: input.price,
          quantity: 1,
          subscription: id,
          tax_rates: [],
        },
      ],
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: input.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: input.periodStart,
    status: input.status ?? 'active',
    test_clock: null,
    transfer_data: null,
    trial_end: input.trialEnd ?? null,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: input.trialEnd ? input.periodStart : null,
  };
}

export interface InvoiceInput {
  subscription: Wire;
  billingReason: 'subscription_create' | 'subscription_cycle';
  amount: number;
  periodStart: number;
  periodEnd: number;
  paid: boolean;
}

export function invoiceWire(input: InvoiceInput): Wire {
  const id = stripeId('in');
  const sub = input.subscription;
  const item = ((sub.items as Wire).data as Wire[])[0];
  const created = nowSec();
  return {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: null,
    amount_due: input.amount,
    amount_paid: input.paid ? input.amount : 0,
    amount_remaining: input.paid ? 0 : input.amount,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: !input.paid,
    automatic_tax: { enabled: false, status: null },
    billing_reason: input.billingReason,
    collection_method: 'charge_automatically',
    created,
    currency: 'usd',
    custom_fields: null,
    customer: sub.customer,
    customer_email: null,
    customer_name: null,
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: null,
    ending_balance: 0,
    footer: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/${id}`,
    last_finalization_error: null,
    lines: {
      object: 'list',
      data: [
        {
          id: stripeId('il'),
          object: 'line_item',
          amount: input.amount,
          currency: 'usd',
          description: '1 × Plan',
          discount_amounts: [],
          discountable: true,
          discounts: [],
          invoice: id,
          livemode: false,
          metadata: {},
          parent: {
            type: 'subscription_item_details',
            invoice_item_details: null,
            subscription_item_details: { invoice_item: null, proration: false, proration_details: { credited_items: null }, subscription: sub.id, subscription_item: item.id },
          },
          period: { start: input.periodStart, end: input.periodEnd },
          pricing: { type: 'price_details', price_details: { price: (item.price as Wire).id, product: 'prod_NZbFOV0OmNHxwl' }, unit_amount_decimal: String(input.amount) },
          quantity: 1,
        },
      ],
      has_more: false,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    next_payment_attempt: input.paid ? null : created + 3 * DAY,
    number: null,
    on_behalf_of: null,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { metadata: sub.metadata, subscription: sub.id },
    },
    period_end: input.periodStart,
    period_start: input.billingReason === 'subscription_create' ? input.periodStart : input.periodStart - 30 * DAY,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: input.paid ? 'paid' : 'open',
    status_transitions: { finalized_at: created, marked_uncollectible_at: null, paid_at: input.paid ? created : null, voided_at: null },
    subtotal: input.amount,
    total: input.amount,
    webhooks_delivered_at: created,
  };
}

export function portalSessionWire(params: Wire): Wire {
  const id = stripeId('bps');
  return {
    id,
    object: 'billing_portal.session',
    configuration: 'bpc_1MoqxTLgUG5tbmjc7NSXVZhO',
    created: nowSec(),
    customer: params.customer,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: params.return_url ?? null,
    url: `https://billing.stripe.com/p/session/test_${id}`,
  };
}

/** The event envelope of fixtures3.json's "event", carrying a snapshot of `object`. */
export function eventWire(type: string, object: Wire, created = nowSec()): Wire {
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/**
 * An invoice_payment (API 2025-03-31 and later: how an invoice names the PaymentIntent that paid it).
 * Not in fixtures3.json's older snapshot; shape from Stripe's API reference for the object.
 */
export function invoicePaymentWire(invoice: Wire, paymentIntent: string): Wire {
  return {
    id: stripeId('inpay'),
    object: 'invoice_payment',
    amount_paid: invoice.amount_paid,
    amount_requested: invoice.amount_due,
    created: nowSec(),
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: paymentIntent },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: nowSec() },
  };
}

/** fixtures3.json "charge": the charge that collected an invoice's PaymentIntent (the API since 2025-03-31 names no invoice on it). */
export function chargeWire(input: { customer: unknown; amount: number; paymentIntent: string }): Wire {
  return {
    id: stripeId('ch'),
    object: 'charge',
    amount: input.amount,
    amount_captured: input.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: stripeId('txn'),
    billing_details: { address: null, email: null, name: null, phone: null },
    calculated_statement_descriptor: 'TORGOVO',
    captured: true,
    created: nowSec(),
    currency: 'usd',
    customer: input.customer,
    description: 'Subscription update',
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', risk_score: 32, seller_message: 'Payment complete.', type: 'authorized' },
    paid: true,
    payment_intent: input.paymentIntent,
    payment_method: stripeId('pm'),
    payment_method_details: { card: { brand: 'visa', country: 'US', exp_month: 8, exp_year: 2030, funding: 'credit', last4: '4242', network: 'visa' }, type: 'card' },
    receipt_email: null,
    receipt_number: null,
    receipt_url: 'https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8xTTJKVGtMa2RJd0h1N2l4KOvG06AGMgZfBXyr1aw6LBa9vaaSRWU96d8qBwz9z2J_CObiV_H2-e8RezSK_sw0KISesp4czsOUlVKY',
    refunded: false,
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

/** fixtures3.json "dispute": a chargeback of `charge` (needs_response until evidence is judged). */
export function disputeWire(charge: Wire, status = 'needs_response'): Wire {
  return {
    id: stripeId('dp'),
    object: 'dispute',
    amount: Number(charge.amount) - Number(charge.amount_refunded),
    balance_transactions: [],
    charge: charge.id,
    created: nowSec(),
    currency: charge.currency,
    evidence: { access_activity_log: null, billing_address: null, cancellation_policy: null, customer_email_address: null, customer_name: null, product_description: null, refund_policy: null, uncategorized_text: null },
    evidence_details: { due_by: nowSec() + 7 * DAY, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    payment_method_details: { card: { brand: 'visa', case_type: 'chargeback', network_reason_code: '10.4' }, type: 'card' },
    reason: 'fraudulent',
    status,
  };
}

/** fixtures3.json "refund". */
export function refundWire(params: Wire, amount: number, chargeId: string): Wire {
  return {
    id: stripeId('re'),
    object: 'refund',
    amount,
    balance_transaction: null,
    charge: chargeId,
    created: nowSec(),
    currency: 'usd',
    metadata: (params.metadata as Wire | undefined) ?? {},
    payment_intent: params.payment_intent ?? null,
    reason: params.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
}

/** fixtures3.json "billing_portal.configuration", with the features asked for. */
export function portalConfigurationWire(params: Wire): Wire {
  return {
    id: stripeId('bpc'),
    object: 'billing_portal.configuration',
    active: true,
    application: null,
    business_profile: { headline: null, privacy_policy_url: null, terms_of_service_url: null },
    created: nowSec(),
    default_return_url: params.default_return_url ?? null,
    features: params.features ?? {},
    is_default: false,
    livemode: false,
    login_page: { enabled: false, url: null },
    metadata: (params.metadata as Wire | undefined) ?? {},
    updated: nowSec(),
  };
}
