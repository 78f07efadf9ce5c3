import type * as CcxtModule from 'ccxt';

export type Ccxt = typeof CcxtModule;

let ccxt: Ccxt | undefined;

/**
 * `require('ccxt')` costs ~0.75 s and ~100 MB, so it happens here, once, on the first live call:
 * a process that never trades live (the paper-only default) never loads it.
 */
export function loadCcxt(): Ccxt {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  ccxt ??= require('ccxt') as Ccxt;
  return ccxt;
}

export function isCcxtLoaded(): boolean {
  return ccxt !== undefined;
}
