import { parse as parseLossless } from 'lossless-json';
import { Decimal } from '@torgovo/core';
import type { ErrorDetail } from '@torgovo/core';
import { parsePositiveDecimal } from './decimal-input';
import { SignalErrors } from './errors';

export const SIGNAL_ACTIONS = ['buy', 'sell', 'long', 'short', 'close', 'exit'] as const;
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

/**
 * What the bot does: spot only, so long = buy, short = sell, close/exit sell the open position;
 * `target`: the alert states the strategy's position and the bot trades to it.
 */
export type SignalIntent = 'buy' | 'sell' | 'close' | 'target';

export type SignalQuantity = { kind: 'base'; value: Decimal } | { kind: 'percent'; value: Decimal };

export interface TradingViewSignal {
  /** null for a target-position alert sent without an action. */
  action: SignalAction | null;
  intent: SignalIntent;
  /**
   * `position` ({{strategy.position_size}}): the strategy's signed position in base units; 0 = flat,
   * negative = short, which on spot means flat. When present it decides, whatever `action` says.
   */
  targetPosition: Decimal | null;
  /** The ticker as sent, and its letters only ("OKX:BTC-USDT" → "BTCUSDT") for the market lookup. */
  ticker: string;
  compactTicker: string;
  /** Exchange prefix of "OKX:BTCUSDT", upper-cased; informational. */
  tickerExchange: string | null;
  price: Decimal | null;
  /** null: the alert did not say (or left a placeholder), the bot's sizing applies. */
  quantity: SignalQuantity | null;
  alertId: string | null;
  timestamp: Date | null;
  orderType: 'market' | 'limit' | null;
  secret: string | null;
}

const INTENT: Record<SignalAction, SignalIntent> = { buy: 'buy', long: 'buy', sell: 'sell', short: 'sell', close: 'close', exit: 'close' };
const PLACEHOLDER = /^\{\{.*\}\}$/s;
const TICKER = /^[A-Z0-9]{2,40}$/;
const MAX_ALERT_ID = 128;
// TradingView's {{timenow}} is "2024-05-01T12:00:00Z"; ISO with offset and epoch numbers are accepted too.
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const EPOCH = /^\d{9,13}$/;

/** A string, or a JSON number as its exact decimal text (parseJsonExact); anything else is not a scalar. */
function scalar(v: unknown): string | null | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim();
  if (v instanceof JsonNumber) return v.text;
  return null;
}

/** Absent, empty or an unreplaced TradingView placeholder ("{{strategy.order.contracts}}"). */
function isUnset(s: string | undefined): boolean {
  return s === undefined || s === '' || PLACEHOLDER.test(s);
}

export function parseTimestamp(s: string): Date | null {
  if (EPOCH.test(s)) {
    const n = Number(s);
    // 10 digits or fewer are seconds, 13 are milliseconds.
    return new Date(s.length <= 10 ? n * 1000 : n);
  }
  if (!ISO.test(s)) return null;
  const normalized = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) ? s : `${s}Z`;
  const d = new Date(normalized.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function parseQuantity(s: string): { value: SignalQuantity } | { error: string } {
  if (s.endsWith('%')) {
    const p = parsePositiveDecimal(s.slice(0, -1));
    if ('error' in p) return { error: `percent ${p.error}` };
    if (p.value.gt(100)) return { error: 'percent must be at most 100%' };
    return { value: { kind: 'percent', value: p.value } };
  }
  const q = parsePositiveDecimal(s);
  return 'error' in q ? { error: q.error } : { value: { kind: 'base', value: q.value } };
}

/** A signed decimal ("-0.5", "0", "+1.25"): the strategy's position. */
export function parseSignedDecimal(s: string): { value: Decimal } | { error: string } {
  const negative = s.startsWith('-');
  const digits = negative || s.startsWith('+') ? s.slice(1) : s;
  if (/^0+(\.0+)?$/.test(digits)) return { value: new Decimal(0) };
  const p = parsePositiveDecimal(digits);
  if ('error' in p) return { error: p.error === 'must be positive' ? 'must be a decimal number such as "0.5" or "-0.5"' : p.error };
  return { value: negative ? p.value.neg() : p.value };
}

/** "OKX:BTCUSDT", "BTC-USDT", "btc/usdt" → { compact: "BTCUSDT", exchange: "OKX" }. */
export function compactTicker(raw: string): { compact: string; exchange: string | null } | null {
  const colon = raw.lastIndexOf(':');
  const exchange = colon >= 0 ? raw.slice(0, colon).trim().toUpperCase() || null : null;
  const compact = raw.slice(colon + 1).replace(/[\s/_-]/g, '').toUpperCase();
  return TICKER.test(compact) ? { compact, exchange } : null;
}

/** A JSON number literal, kept as exact decimal text; only fields that take numbers read it. */
class JsonNumber {
  constructor(readonly text: string) {}
}

/**
 * JSON with its numbers kept exact: `"price": {{close}}` arrives as a number literal, and JSON.parse
 * would pass it through a float (0.0000005 → "5e-7", 0.123456789012345678 → …680). lossless-json
 * hands us each literal's text, normalized by decimal.js (1e3 → "1000"). It also refuses a key
 * given twice with different values: an ambiguous alert is malformed.
 */
/** Widest exponent written out as plain decimal text: past numeric(36,18) either way, with room. */
const MAX_LITERAL_EXPONENT = 40;

function parseJsonExact(body: string): unknown {
  return parseLossless(body, null, (literal: string) => {
    const d = new Decimal(literal);
    // toFixed() writes an exponent out digit by digit: 1e999999999 (11 bytes, in any field) would hold
    // the event loop for minutes and exhaust the heap. A number no field can take (numeric(36,18))
    // keeps its literal, which the numeric fields refuse as not a plain decimal (400 invalid_signal).
    return new JsonNumber(d.isFinite() && d.e <= MAX_LITERAL_EXPONENT && d.e >= -MAX_LITERAL_EXPONENT ? d.toFixed() : literal);
  });
}

/** Parses the raw body text; throws malformed_json or invalid_signal (one detail per bad field). */
export function parseTradingViewSignal(body: string): TradingViewSignal {
  let json: unknown;
  try {
    json = parseJsonExact(body);
  } catch {
    throw SignalErrors.malformedJson();
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw SignalErrors.malformedJson();
  const o = json as Record<string, unknown>;
  const errors: ErrorDetail[] = [];
  const field = (name: string): string | undefined => {
    const v = scalar(o[name]);
    if (v === null) {
      errors.push({ field: name, message: 'must be a string or a number' });
      return undefined;
    }
    return v;
  };

  const secretRaw = o.secret;
  let secret: string | null = null;
  if (secretRaw !== undefined && secretRaw !== null) {
    if (typeof secretRaw === 'string') secret = secretRaw;
    else errors.push({ field: 'secret', message: 'must be a string' });
  }

  const positionRaw = field('position');
  let targetPosition: Decimal | null = null;
  if (!isUnset(positionRaw)) {
    const p = parseSignedDecimal(positionRaw!);
    if ('error' in p) errors.push({ field: 'position', message: p.error });
    else targetPosition = p.value;
  }

  const actionRaw = field('action');
  let action: SignalAction | null = null;
  if (isUnset(actionRaw)) {
    if (positionRaw === undefined || positionRaw === '') errors.push({ field: 'action', message: 'is required (or position)' });
  } else if (!SIGNAL_ACTIONS.includes(actionRaw!.toLowerCase() as SignalAction)) {
    errors.push({ field: 'action', message: `must be one of ${SIGNAL_ACTIONS.join(', ')}` });
  } else action = actionRaw!.toLowerCase() as SignalAction;

  const tickerRaw = field('ticker');
  const ticker = tickerRaw && !isUnset(tickerRaw) ? compactTicker(tickerRaw) : null;
  if (isUnset(tickerRaw)) errors.push({ field: 'ticker', message: 'is required' });
  else if (!ticker) errors.push({ field: 'ticker', message: 'must look like BTCUSDT, OKX:BTCUSDT, BTC-USDT or BTC/USDT' });

  const priceRaw = field('price');
  let price: Decimal | null = null;
  if (!isUnset(priceRaw)) {
    const p = parsePositiveDecimal(priceRaw!);
    if ('error' in p) errors.push({ field: 'price', message: p.error });
    else price = p.value;
  }

  const quantityRaw = field('quantity');
  let quantity: SignalQuantity | null = null;
  if (!isUnset(quantityRaw)) {
    const q = parseQuantity(quantityRaw!);
    if ('error' in q) errors.push({ field: 'quantity', message: q.error });
    else quantity = q.value;
  }

  const alertRaw = field('alert_id');
  let alertId: string | null = null;
  // An unreplaced placeholder is no id: as a key it would make every later alert a duplicate.
  if (alertRaw !== undefined && !isUnset(alertRaw)) {
    if (alertRaw.length > MAX_ALERT_ID) errors.push({ field: 'alert_id', message: `must be at most ${MAX_ALERT_ID} characters` });
    else alertId = alertRaw;
  }

  const tsRaw = field('timestamp');
  let timestamp: Date | null = null;
  if (tsRaw !== undefined && tsRaw !== '') {
    timestamp = parseTimestamp(tsRaw);
    if (!timestamp) errors.push({ field: 'timestamp', message: 'must be ISO 8601 (as {{timenow}} sends it) or epoch milliseconds' });
  }

  const typeRaw = field('order_type');
  let orderType: 'market' | 'limit' | null = null;
  if (!isUnset(typeRaw)) {
    const t = typeRaw!.toLowerCase();
    if (t === 'market' || t === 'limit') orderType = t;
    else errors.push({ field: 'order_type', message: 'must be market or limit' });
  }

  // A position placeholder left unreplaced with no action: nothing says what to do.
  if (action === null && targetPosition === null && errors.length === 0) errors.push({ field: 'position', message: 'is required (or action)' });
  if (errors.length > 0 || (!action && !targetPosition) || !ticker) throw SignalErrors.invalidSignal(errors);
  return {
    action,
    intent: targetPosition !== null ? 'target' : INTENT[action!],
    targetPosition,
    ticker: tickerRaw!,
    compactTicker: ticker.compact,
    tickerExchange: ticker.exchange,
    price,
    quantity,
    alertId,
    timestamp,
    orderType,
    secret,
  };
}
