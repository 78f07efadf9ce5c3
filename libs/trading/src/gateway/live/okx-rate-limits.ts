import { createHash } from 'node:crypto';

export interface RateWindow {
  /** What is counted, e.g. "<account>:place:BTC-USDT". */
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * OKX's own limits for the calls we make, per API key (OKX counts per account; a key is the finest
 * account we know). Order placement: 60 per 2 s per instrument and 1,000 per 2 s per (sub-)account;
 * reading and cancelling orders 60 per 2 s per instrument; balance 10, account config 5 per 2 s;
 * deposit address and history 6 per second. Public market data (instruments, ticker: 20 per 2 s
 * per IP) is shared by every account and coalesced in OkxEndpoint instead.
 */
export const OKX_LIMITS = {
  place: (account: string, instId: string): RateWindow[] => [
    { key: `${account}:place:${instId}`, limit: 60, windowMs: 2_000 },
    { key: `${account}:place`, limit: 1_000, windowMs: 2_000 },
  ],
  cancel: (account: string, instId: string): RateWindow[] => [{ key: `${account}:cancel:${instId}`, limit: 60, windowMs: 2_000 }],
  readOrder: (account: string, instId: string): RateWindow[] => [{ key: `${account}:order:${instId}`, limit: 60, windowMs: 2_000 }],
  balance: (account: string): RateWindow[] => [{ key: `${account}:balance`, limit: 10, windowMs: 2_000 }],
  accountConfig: (account: string): RateWindow[] => [{ key: `${account}:config`, limit: 5, windowMs: 2_000 }],
  depositAddress: (account: string): RateWindow[] => [{ key: `${account}:deposit-address`, limit: 6, windowMs: 1_000 }],
  depositHistory: (account: string): RateWindow[] => [{ key: `${account}:deposit-history`, limit: 6, windowMs: 1_000 }],
} as const;

/** Names an account in the limiter without keeping its key (the same key + mode = the same OKX account). */
export function rateAccountOf(apiKey: string, sandbox: boolean): string {
  return createHash('sha256').update(`${apiKey}\u0000${String(sandbox)}`).digest('base64url').slice(0, 22);
}

// Sweep windows nobody used for a while every this many reservations, so 10,000 accounts that traded
// once do not stay in memory.
const SWEEP_EVERY = 1_000;

/** A counted call: `done()` when its answer (or failure) is back. */
export interface RateTicket {
  done(): void;
}

// A call counts from when it is sent until its answer is back, then at the answer's time: it
// reached OKX somewhere in between, and network jitter must not let the 61st arrive inside the
// window of the 1st (it would, counting from the send: a first request delayed 30 ms, a 61st not).
interface Slot {
  at: number;
}
const IN_FLIGHT = Number.POSITIVE_INFINITY;

/**
 * Sliding windows of calls made, in this process. A call that would overrun a window is told how
 * long until that window has room (nothing counted); the caller waits and asks again, or, if it
 * would wait too long, backs off instead of holding a worker slot.
 *
 * In-process on purpose: with several workers the per-queue FIFO claim already means one order per
 * queue (user, bot) in flight at a time, so one account's orders do not race across processes; a
 * user with many bots on one account across workers could still reach OKX's limit, and OKX then
 * answers 50011, which is a transient error retried with backoff.
 */
export class RateWindows {
  private readonly logs = new Map<string, Slot[]>();
  private taken = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A ticket: counted, the call may go now. A number: the ms until every window has room. */
  take(windows: readonly RateWindow[]): RateTicket | number {
    const now = this.now();
    let wait = 0;
    for (const w of windows) {
      const log = this.prune(w, now);
      if (log.length < w.limit) continue;
      // Room once the (n − limit + 1)-th oldest leaves; a call still in flight counts as "now".
      const times = log.map((s) => (s.at === IN_FLIGHT ? now : s.at)).sort((a, b) => a - b);
      wait = Math.max(wait, times[log.length - w.limit] + w.windowMs - now);
    }
    if (wait > 0) return wait;
    const slots: Slot[] = [];
    for (const w of windows) {
      let log = this.logs.get(w.key);
      if (!log) this.logs.set(w.key, (log = []));
      const slot = { at: IN_FLIGHT };
      log.push(slot);
      slots.push(slot);
    }
    if (++this.taken % SWEEP_EVERY === 0) this.sweep(now);
    return {
      done: () => {
        const at = this.now();
        for (const slot of slots) slot.at = at;
      },
    };
  }

  get size(): number {
    return this.logs.size;
  }

  private prune(w: RateWindow, now: number): Slot[] {
    const log = this.logs.get(w.key);
    if (!log) return [];
    const kept = log.filter((s) => s.at > now - w.windowMs);
    if (kept.length !== log.length) this.logs.set(w.key, kept);
    return kept;
  }

  private sweep(now: number): void {
    // The longest window is 2 s: a log with nothing in flight and nothing newer counts nothing.
    for (const [key, log] of this.logs) {
      if (log.every((s) => s.at <= now - 2_000)) this.logs.delete(key);
    }
  }
}
