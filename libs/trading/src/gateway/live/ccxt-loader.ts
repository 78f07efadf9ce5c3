import { ccxtLoad, loadOkxClass, type OkxClass } from '@torgovo/core';

/**
 * ccxt's OKX class, loaded on the first live call (see loadOkxClass: ccxt's okx module alone, not
 * its 110-exchange bundle): a process that never trades live (the paper-only default) never loads it.
 */
export function loadOkx(): OkxClass {
  return loadOkxClass();
}

export function isCcxtLoaded(): boolean {
  return ccxtLoad() !== undefined;
}
