import { Decimal } from '@torgovo/core';

/**
 * The FIFO engine's rules (performance-sql.ts) as a fold over fills in time order, so a book's
 * figures can be carried forward: a state (open lots, realised PnL, the drawdown curve's running
 * peak, realised PnL per day) plus the fills after it give exactly what the engine computes over
 * all of them. Exact: every amount is an exact decimal (products and sums carry all their digits;
 * the only division, a lot's unit cost, is read from the database as the engine computes it —
 * UNIT_SQL — and the average entry price is left to the database, see `positions`).
 */

/** Enough digits for products of 18- and 30-decimal amounts and their sums: nothing is ever rounded inside. */
const X = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -250, toExpPos: 250 });
type X = InstanceType<typeof X>;

/** One fill, with the values the engine derives (FILL_COLUMNS_SQL / FILL_VALUES_SQL / UNIT_SQL) as text. */
export interface FoldFill {
  id: string;
  symbol: string;
  side: 'buy' | 'sell';
  quote: string;
  px: string;
  qty: string;
  /** null when qty ≤ 0 (a buy whose base fee took it all): it is counted, adds no lot. */
  unit: string | null;
  /** The fill's time `at` in microseconds since the epoch (ordering; JS dates keep only milliseconds). */
  at_us: string;
  /** Its calendar day in the zone the figures use (YYYY-MM-DD). */
  day: string;
}

interface SymbolState {
  /** Fills counted so far on this symbol (the engine's `n`, which orders same-time trades). */
  n: number;
  /** The side of the open lots (only one side can be open), null when flat. */
  side: 'buy' | 'sell' | null;
  /** Open lots, oldest first: [quantity left, unit]. */
  lots: Array<[string, string]>;
  last_px: string | null;
}

/**
 * Bump when FoldState's shape or the fold's rules change: stored states of another version are rebuilt.
 * 2: states written before the horizon kept its microseconds (follow-books.ts) may hold fills folded twice.
 */
export const FOLD_STATE_VERSION = 2;

/** What is persisted: decimals as exact strings. */
export interface FoldState {
  v: typeof FOLD_STATE_VERSION;
  fills: number;
  symbols: Record<string, SymbolState>;
  realised: string;
  gross_profit: string;
  gross_loss: string;
  trades: number;
  wins: number;
  cum: string;
  peak: string;
  max_dd: string;
  /** Realised PnL per day of closing (exact). */
  days: Record<string, string>;
}

export function emptyFoldState(): FoldState {
  return { v: FOLD_STATE_VERSION, fills: 0, symbols: {}, realised: '0', gross_profit: '0', gross_loss: '0', trades: 0, wins: 0, cum: '0', peak: '0', max_dd: '0', days: {} };
}

/** One position for the database to value: amount × (last_px − num / den), rounded to 18 (as the engine). */
export interface FoldPosition {
  symbol: string;
  /** Base held (negative: short), 18 decimals. */
  amount: string;
  /** Σ lot quantity × unit: the open lots' cost, 48 decimals (the engine's numerator and its scale). */
  num: string;
  /** Σ lot quantity, 18 decimals. */
  den: string;
  last_px: string;
}

export interface FoldFigures {
  fills: number;
  realised_pnl: string;
  gross_profit: string;
  gross_loss: string;
  trades: number;
  wins: number;
  max_drawdown: string;
  /** Σ of each day's realised PnL (rounded to 18 like the engine's daily) from `since` (YYYY-MM-DD) on. */
  realised_since: string;
  positions: FoldPosition[];
}

const r18 = (d: X): string => d.toDecimalPlaces(18, Decimal.ROUND_HALF_UP).toFixed(18);

interface ClosedTrade {
  at: bigint;
  n: number;
  id: string;
  pnl: X;
  day: string;
}

/** A book in memory: load a state, fold fills in, read figures or the state back. */
export class FifoBook {
  private readonly s: FoldState;

  constructor(state: FoldState | null) {
    this.s = state ? (JSON.parse(JSON.stringify(state)) as FoldState) : emptyFoldState();
  }

  /**
   * Folds fills that all come after what the state holds, each symbol's in the engine's order
   * (at, created_at, id). Trades enter the drawdown curve in the engine's order (at, n, id).
   */
  fold(fills: readonly FoldFill[]): this {
    if (fills.length === 0) return this;
    const closed: ClosedTrade[] = [];
    const lotsOf = new Map<string, Array<[X, X]>>();
    const touched = new Map<string, SymbolState>();
    for (const f of fills) {
      let sym = this.s.symbols[f.symbol];
      if (!sym) sym = this.s.symbols[f.symbol] = { n: 0, side: null, lots: [], last_px: null };
      let lots = lotsOf.get(f.symbol);
      if (!lots) {
        lots = sym.lots.map(([q, u]) => [new X(q), new X(u)] as [X, X]);
        lotsOf.set(f.symbol, lots);
        touched.set(f.symbol, sym);
      }
      sym.n += 1;
      this.s.fills += 1;
      if (f.unit === null) continue;
      let qty = new X(f.qty);
      const unit = new X(f.unit);
      sym.last_px = f.px;
      if (sym.side !== null && sym.side !== f.side) {
        let pnl = new X(0);
        while (qty.gt(0) && lots.length > 0) {
          const lot = lots[0];
          const q = X.min(qty, lot[0]);
          // pnl of a pair = q × sell unit − q × buy unit (the engine's, term for term).
          pnl = f.side === 'sell' ? pnl.plus(q.mul(unit).minus(q.mul(lot[1]))) : pnl.plus(q.mul(lot[1]).minus(q.mul(unit)));
          lot[0] = lot[0].minus(q);
          qty = qty.minus(q);
          if (lot[0].isZero()) lots.shift();
        }
        if (lots.length === 0) sym.side = null;
        closed.push({ at: BigInt(f.at_us), n: sym.n, id: f.id, pnl, day: f.day });
      }
      if (qty.gt(0)) {
        if (sym.side === null) sym.side = f.side;
        lots.push([qty, unit]);
      }
    }
    for (const [symbol, lots] of lotsOf) touched.get(symbol)!.lots = lots.map(([q, u]) => [q.toFixed(), u.toFixed()]);
    closed.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.n !== b.n ? a.n - b.n : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let realised = new X(this.s.realised);
    let profit = new X(this.s.gross_profit);
    let loss = new X(this.s.gross_loss);
    let cum = new X(this.s.cum);
    let peak = new X(this.s.peak);
    let dd = new X(this.s.max_dd);
    for (const t of closed) {
      realised = realised.plus(t.pnl);
      this.s.trades += 1;
      if (t.pnl.gt(0)) {
        this.s.wins += 1;
        profit = profit.plus(t.pnl);
      } else if (t.pnl.lt(0)) loss = loss.minus(t.pnl);
      cum = cum.plus(t.pnl);
      peak = X.max(peak, cum);
      dd = X.max(dd, peak.minus(cum));
      this.s.days[t.day] = new X(this.s.days[t.day] ?? 0).plus(t.pnl).toFixed();
    }
    Object.assign(this.s, { realised: realised.toFixed(), gross_profit: profit.toFixed(), gross_loss: loss.toFixed(), cum: cum.toFixed(), peak: peak.toFixed(), max_dd: dd.toFixed() });
    return this;
  }

  /** The state to persist; days before `keepFrom` (YYYY-MM-DD) are dropped (closed days never change, and only recent ones are read). */
  state(keepFrom?: string): FoldState {
    const out = JSON.parse(JSON.stringify(this.s)) as FoldState;
    if (keepFrom) for (const day of Object.keys(out.days)) if (day < keepFrom) delete out.days[day];
    return out;
  }

  figures(since: string): FoldFigures {
    const positions: FoldPosition[] = [];
    for (const [symbol, sym] of Object.entries(this.s.symbols)) {
      if (sym.side === null || sym.lots.length === 0 || sym.last_px === null) continue;
      let num = new X(0);
      let den = new X(0);
      for (const [q, u] of sym.lots) {
        num = num.plus(new X(q).mul(u));
        den = den.plus(q);
      }
      positions.push({ symbol, amount: (sym.side === 'buy' ? den : den.neg()).toFixed(18), num: num.toFixed(48), den: den.toFixed(18), last_px: sym.last_px });
    }
    let since$ = new X(0);
    for (const [day, pnl] of Object.entries(this.s.days)) if (day >= since) since$ = since$.plus(r18(new X(pnl)));
    return {
      fills: this.s.fills,
      realised_pnl: r18(new X(this.s.realised)),
      gross_profit: r18(new X(this.s.gross_profit)),
      gross_loss: r18(new X(this.s.gross_loss)),
      trades: this.s.trades,
      wins: this.s.wins,
      max_drawdown: r18(new X(this.s.max_dd)),
      realised_since: since$.toFixed(),
      positions,
    };
  }
}
