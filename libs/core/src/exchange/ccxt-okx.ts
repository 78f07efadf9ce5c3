import { dirname, join } from 'node:path';
import type { okx as OkxExchange } from 'ccxt';
import type { OkxCall, OkxTarget } from './okx-calls';

export type OkxClass = typeof OkxExchange;

/** How the OKX class was loaded: ccxt's okx module alone, or (fallback) ccxt's whole bundle. */
export type CcxtLoad = 'okx-only' | 'whole';

let okx: OkxClass | undefined;
let how: CcxtLoad | undefined;

/**
 * ccxt's OKX exchange class, loaded once, on first use (a process that never calls OKX privately —
 * the paper-only default — never loads ccxt).
 *
 * `require('ccxt')` loads every exchange ccxt has (110+ modules of generated code): measured on
 * Node 20 with ccxt 4.5.84, +72 MB RSS, +42 MB heap and ~0.8 s, for the one class we use. ccxt's
 * CommonJS build is one file per module, so we load what its own entry (dist/cjs/ccxt.js) loads
 * before any exchange — rollup's helper and its one registry of dynamically required modules — then
 * `src/okx.js` and what it imports: ~60 modules, +28 MB RSS, +9 MB heap, ~0.2 s. The class is
 * ccxt's own, byte for byte: same signing, same error classes (same names), same parsing.
 *
 * ccxt's package `exports` only name its entry, so the module is required by its file path beside
 * the resolved entry. ccxt is pinned to an exact version in package.json; if a future layout moves
 * these files, this falls back to the whole bundle (correct, only heavier) and `ccxtLoad()` says so.
 */
export function loadOkxClass(): OkxClass {
  if (okx) return okx;
  try {
    const root = join(dirname(require.resolve('ccxt')), 'cjs');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    for (const first of ['_virtual/_commonjsHelpers.js', '_virtual/index.cjs.js']) require(join(root, first));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    const mod = require(join(root, 'src/okx.js')) as { default?: OkxClass };
    if (typeof mod.default !== 'function' || typeof mod.default.prototype.sign !== 'function') throw new Error('ccxt okx module has another shape');
    okx = mod.default;
    how = 'okx-only';
  } catch (error) {
    // Required here, not imported: the OKX call process loads this file and nothing of Nest (~30 MB).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { Logger } = require('@nestjs/common') as typeof import('@nestjs/common');
    new Logger('ccxt').warn(
      { error: error instanceof Error ? error.message : String(error) },
      "ccxt's okx module could not be loaded on its own (has ccxt's layout changed?): loading the whole bundle, ~44 MB more per process",
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    okx = (require('ccxt') as typeof import('ccxt')).okx;
    how = 'whole';
  }
  return okx;
}

/** Whether this process has loaded ccxt (a paper-only process never does). */
export function isCcxtLoaded(): boolean {
  return how !== undefined;
}

/** How ccxt was loaded in this process, or undefined while it is not. */
export function ccxtLoad(): CcxtLoad | undefined {
  return how;
}

/**
 * A ccxt OKX instance for `target`, holding no credentials: OKX's raw endpoints only (no market
 * load, no currencies), no ccxt rate limiter (OKX's limits are per account: the caller keeps them),
 * nothing of the last answer kept on it.
 */
export function newOkxInstance(target: OkxTarget = {}): OkxExchange {
  const Okx = loadOkxClass();
  const client = new Okx({
    enableRateLimit: false,
    timeout: target.timeoutMs ?? 10_000,
    options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
  });
  client.has.fetchCurrencies = false;
  // Nothing of an answer stays on the instance once the next call has it.
  client.enableLastHttpResponse = false;
  client.enableLastResponseHeaders = false;
  client.enableLastJsonResponse = false;
  // Before the URL override: sandbox mode swaps urls.api and adds `x-simulated-trading: 1`.
  if (target.sandbox) client.setSandboxMode(true);
  if (target.apiUrl) client.urls.api = { rest: target.apiUrl.replace(/\/+$/, '') };
  return client;
}

/** ccxt's implicit method for `call`, called on `client` (synchronously up to its request: trading's OkxClientPool relies on it). */
export function invokeOkx(client: OkxExchange, call: OkxCall): Promise<unknown> {
  const method = client[call.method] as unknown as (params?: Record<string, string>) => Promise<unknown>;
  return method.call(client, call.params ?? {});
}
