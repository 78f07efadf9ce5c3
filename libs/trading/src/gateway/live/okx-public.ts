import type { OkxEndpointOptions } from './okx-client';

/** OKX's REST base (what ccxt's okx uses: https://{hostname}, hostname www.okx.com). */
export const OKX_DEFAULT_API_URL = 'https://www.okx.com';

/**
 * The ccxt class OKX's codes map to on a public endpoint (ccxt 4.5's okx `exceptions.exact`, for the
 * codes those endpoints answer); others are ExchangeError, mapped by describeFailure from the code.
 */
const PUBLIC_CODE_CLASSES: Readonly<Record<string, string>> = {
  '50001': 'OnMaintenance',
  '50002': 'BadRequest',
  '50004': 'RequestTimeout',
  '50011': 'RateLimitExceeded',
  '50013': 'ExchangeNotAvailable',
  '50014': 'BadRequest',
  '50026': 'ExchangeNotAvailable',
  '51001': 'BadSymbol',
};

/** An error named as ccxt names its classes, so describeFailure maps it exactly as it maps ccxt's own. */
function ccxtLike(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * GET one of OKX's public endpoints (instruments, ticker) with Node's fetch, without ccxt: they need
 * no signature, and loading ccxt costs a process ~70 MB of RSS. The api only ever reads OKX's
 * market list (to check an alert's symbol), so it no longer loads ccxt at all unless a user
 * connects keys. Failures come out as ccxt's would (NetworkError, RequestTimeout,
 * ExchangeNotAvailable, BadResponse, or ExchangeError carrying OKX's own body and code), so the
 * gateway's mapping to ExchangeError and its reasons stay one and the same.
 */
export async function okxPublicGet(options: OkxEndpointOptions, path: string, query: Record<string, string>): Promise<unknown> {
  const base = (options.apiUrl ?? OKX_DEFAULT_API_URL).replace(/\/+$/, '');
  const url = `${base}${path}?${new URLSearchParams(query).toString()}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let response: Response;
  let text: string;
  try {
    // Demo trading: the same URL with `x-simulated-trading: 1`, as ccxt's sandbox mode sends it.
    response = await fetch(url, { headers: options.sandbox ? { 'x-simulated-trading': '1' } : {}, signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw timedOut ? ccxtLike('RequestTimeout', `okx GET ${path} timed out after ${timeoutMs} ms`) : ccxtLike('NetworkError', `okx GET ${path} failed: ${String((error as Error).cause ?? error)}`);
  }
  if (response.status >= 500) throw ccxtLike('ExchangeNotAvailable', `okx ${response.status} ${text.slice(0, 200)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw ccxtLike('BadResponse', `okx GET ${path}: answer is not JSON (${response.status})`);
  }
  const code = (body as { code?: unknown } | null)?.code;
  if (response.status >= 400 || code !== '0') {
    const byCode = typeof code === 'string' ? PUBLIC_CODE_CLASSES[code] : undefined;
    throw ccxtLike(byCode ?? (response.status === 429 ? 'RateLimitExceeded' : 'ExchangeError'), `okx ${text.slice(0, 500)}`);
  }
  return body;
}
