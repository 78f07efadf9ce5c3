import type { ExchangeCredentials } from './credential-tester';

/**
 * The raw OKX v5 endpoints Torgovo calls through ccxt, by ccxt's implicit method name. A call is
 * data — a method and its string parameters — so it can run in this process (trading's
 * OkxClientPool) or in the OKX call process (OkxSidecar), which refuses any other method.
 */
export const OKX_METHODS = [
  'privateGetAccountBalance',
  'privateGetAccountConfig',
  'privatePostTradeOrder',
  'privateGetTradeOrder',
  'privatePostTradeCancelOrder',
  'privateGetAssetDepositAddress',
  'privateGetAssetDepositHistory',
  'publicGetMarketTicker',
] as const;

export type OkxMethod = (typeof OKX_METHODS)[number];

export interface OkxCall {
  method: OkxMethod;
  /** OKX's parameters, as strings (amounts stay decimal strings on the wire). */
  params?: Record<string, string>;
}

/** Which OKX API a call goes to: the real one or another base URL, live or demo trading. */
export interface OkxTarget {
  /** OKX_API_URL: another base URL (the local fake in tests). */
  apiUrl?: string;
  /** Demo trading: `x-simulated-trading: 1` on every request. */
  sandbox?: boolean;
  timeoutMs?: number;
}

/**
 * Runs OKX calls for one target. `credentials` null: a public call. `headers` is read when the
 * call can leave (an expTime counts from then).
 */
export interface OkxCallRunner {
  run(credentials: ExchangeCredentials | null, call: OkxCall, headers?: () => Record<string, string>): Promise<unknown>;
}

/**
 * Where a process's OKX calls run:
 * - `in-process`: ccxt is loaded here (the worker, whose live orders are the hot path; the embedded
 *   default, which runs the worker in the api's process).
 * - `sidecar`: a child process started on the first call and ended when idle (the api alone: its few
 *   OKX calls — a key check on connect, a follower's balance, a deposit address — do not keep ccxt's
 *   ~20 MB in the process that must answer a bar close's alerts).
 */
export type OkxCallsMode = 'in-process' | 'sidecar';

export const OKX_CALLS_MODE = Symbol('OKX_CALLS_MODE');

export function isOkxMethod(value: unknown): value is OkxMethod {
  return typeof value === 'string' && (OKX_METHODS as readonly string[]).includes(value);
}

/** A failure as it crosses the process boundary: what the error mapping reads (ccxt's class name, the message, a socket code). */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as NodeJS.ErrnoException).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The error the mapping sees in this process: same name (ccxt's class), message and socket code. */
export function fromWireError(wire: WireError): Error {
  const error = new Error(wire.message) as NodeJS.ErrnoException;
  error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  return error;
}
