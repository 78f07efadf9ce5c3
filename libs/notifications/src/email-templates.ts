import type { NotificationKind } from './notification-outbox';

export interface RenderedEmail {
  subject: string;
  text: string;
}

const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** Plain-text e-mails; `data` comes from the outbox row (decimal strings, ISO dates). */
export function renderEmail(kind: NotificationKind | string, data: Record<string, unknown>, fullName: string): RenderedEmail {
  const hello = `Hello ${fullName || 'there'},`;
  const plan = s(data.plan_name) || 'your plan';
  const paid = data.crypto_currency && data.received_amount ? `${s(data.received_amount)} ${s(data.crypto_currency)}` : `$${s(data.amount_usd)}`;
  switch (kind) {
    case 'payment_confirmed':
      return {
        subject: `Payment confirmed: ${plan}`,
        text: `${hello}\n\nWe received your payment of ${paid} for ${plan}.${data.tx_hash ? `\nTransaction: ${s(data.tx_hash)}` : ''}\nYour subscription is active${data.end_date ? ` until ${s(data.end_date)}` : ''}.\n`,
      };
    case 'payment_unapplied':
      return {
        subject: `Payment received, not applied yet: ${plan}`,
        text:
          `${hello}\n\nWe received your payment of ${paid} for ${plan}, but it could not be applied to your subscription` +
          ` (${s(data.reason).replace(/^not_applied: /, '') || 'it had ended'}).${data.tx_hash ? `\nTransaction: ${s(data.tx_hash)}` : ''}\n` +
          `Nothing is lost: our team has been told and will apply it to your account or refund it.\nPayment: ${s(data.payment_id)}\n`,
      };
    case 'payment_failed':
      return {
        subject: `Payment failed: ${plan}`,
        text: `${hello}\n\nYour payment of $${s(data.amount_usd)} for ${plan} did not go through (${s(data.reason) || 'failed'}).\nYou can start a new payment from your billing page.\n`,
      };
    case 'payment_expired':
      return {
        subject: `Payment expired: ${plan}`,
        text: `${hello}\n\nYour payment request of $${s(data.amount_usd)} for ${plan} expired before we received the funds.\nIf you already sent them, contact support with the transaction id: nothing is lost.\n`,
      };
    case 'subscription_expiring':
      if (data.amount_usd === undefined) {
        return {
          subject: `Your ${plan} subscription ends ${s(data.end_date).slice(0, 10)}`,
          text: `${hello}\n\nYour ${plan} subscription ends on ${s(data.end_date)} and will not renew by itself.\nYour bots stop then; you can renew or change plans from your billing page.\n`,
        };
      }
      return renewal();
    case 'renewal_due':
      return renewal();
    case 'order_filled':
      return {
        subject: `Order filled: ${s(data.side)} ${s(data.symbol)}`,
        text: `${hello}\n\nYour ${s(data.mode)} order ${s(data.side)} ${s(data.symbol)} was filled: ${s(data.filled)} at ${s(data.average)}.\nOrder: ${s(data.order_id)}\n`,
      };
    case 'order_rejected':
      return {
        subject: `Order ${s(data.status)}: ${s(data.side)} ${s(data.symbol)}`,
        text: `${hello}\n\nYour ${s(data.mode)} order ${s(data.side)} ${s(data.symbol)} ended ${s(data.status)}: ${s(data.reason) || 'no reason given'}.\nOrder: ${s(data.order_id)}\n`,
      };
    case 'bot_stopped':
      return {
        subject: `Bot stopped: ${s(data.name)}`,
        text: `${hello}\n\nYour bot ${s(data.name)} (${s(data.symbol)}) was stopped by the platform: ${s(data.stop_reason)}.\nIts alerts are not traded until you start it again.\n`,
      };
    default:
      return { subject: 'Torgovo notification', text: `${hello}\n\n${JSON.stringify(data)}\n` };
  }

  function renewal(): RenderedEmail {
      return {
        subject: `Your ${plan} subscription ends ${s(data.end_date).slice(0, 10)}`,
        text: `${hello}\n\nYour ${plan} subscription ends on ${s(data.end_date)}. To keep it, pay the renewal of $${s(data.amount_usd)} before ${s(data.due_at)}.\n`,
      };
  }
}
