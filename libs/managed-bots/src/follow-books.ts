import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '@torgovo/core';
import { COUNTED_FILL_SQL, FifoBook, FILL_COLUMNS_SQL, FILL_VALUES_SQL, FOLD_STATE_VERSION, FoldFigures, FoldFill, FoldState, UNIT_SQL } from '@torgovo/trading';

export interface BookKey {
  user_id: string;
  managed_bot_id: string;
  mode: 'paper' | 'live';
}

/**
 * MANAGED_FOLD_MARGIN_SECONDS (default 300): how long after its time a final fill is still taken as
 * possibly uncommitted (the transaction that recorded it may commit after a recompute began): fills
 * newer than this are not folded into the stored state yet, only counted on top of it at each
 * recompute. The job's "which books changed" test uses the same margin.
 */
function foldMarginSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env.MANAGED_FOLD_MARGIN_SECONDS ?? '300';
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) throw new Error(`MANAGED_FOLD_MARGIN_SECONDS must be a whole number of seconds in [0, 86400], got ${raw}`);
  return seconds;
}

/** Books per read: bounds the rows one statement returns on a first build (every fill of those books). */
const CHUNK = 1000;

type FillRow = Omit<FoldFill, 'side'> & { side: 'buy' | 'sell'; settled: boolean };
/** horizon_us: the stored horizon in microseconds since the epoch (see US_SQL). */
type BookRow = BookKey & { horizon_us: string | null; timezone: string | null; state: FoldState | null };

/**
 * Horizons travel as microseconds since the epoch (text), never as JS dates: a Date keeps only
 * milliseconds, and a horizon cut short (stored 12:00:00.123 when the fills folded were those before
 * 12:00:00.123456) reads the fills of that last fraction of a millisecond again and folds them twice.
 */
const US_SQL = (ts: string) => `(extract(epoch FROM ${ts}) * 1000000)::bigint::text`;
const TS_SQL = (us: string) => `(timestamptz 'epoch' + (${us}) * interval '1 microsecond')`;

const keyOf = (b: BookKey) => `${b.user_id}|${b.managed_bot_id}|${b.mode}`;

/**
 * The followers' FIFO books, carried forward (table managed_follow_books): each holds the FIFO fold
 * (libs/trading fifo-fold.ts) over its final fills before `horizon`. A recompute reads, per chunk of
 * books, their states (one statement) and only the fills from each horizon on (one statement: an
 * index range per book), folds the ones that are final and older than FOLD_MARGIN into the states
 * (written back in one statement; the horizon moves up to them), and counts the rest — the newest
 * fills and partly filled orders still open, whose fills may still grow — on top of a copy. The
 * horizon never passes an unfinished order's fill, so every fill is folded in the engine's own order
 * and the figures are the full engine's, exactly (test/managed-bots/incremental-recompute).
 * A first recompute of a book (or after APP_TIMEZONE changed) reads its whole history once.
 */
@Injectable()
export class FollowBooks {
  /** SQL interval of the margin (a validated whole number of seconds). */
  readonly marginSql: string;

  constructor(private readonly config: AppConfig) {
    this.marginSql = `interval '${foldMarginSeconds(process.env)} seconds'`;
  }

  /** Figures per book (keyed `user|bot|mode`), with days from `since` (YYYY-MM-DD) summed in realised_since. */
  async figures(m: EntityManager | DataSource, books: readonly BookKey[], since: string): Promise<Map<string, FoldFigures>> {
    const out = new Map<string, FoldFigures>();
    const unique = [...new Map(books.map((b) => [keyOf(b), b])).values()];
    for (let i = 0; i < unique.length; i += CHUNK) {
      for (const [k, f] of await this.chunk(m, unique.slice(i, i + CHUNK), since)) out.set(k, f);
    }
    return out;
  }

  private async chunk(m: EntityManager | DataSource, books: BookKey[], since: string): Promise<Map<string, FoldFigures>> {
    const tz = this.config.env.APP_TIMEZONE;
    const cols = [books.map((b) => b.user_id), books.map((b) => b.managed_bot_id), books.map((b) => b.mode)];
    const stored = (await m.query(
      `SELECT s.user_id, s.managed_bot_id, s.mode, ${US_SQL('s.horizon')} AS horizon_us, s.timezone, s.state
         FROM unnest($1::uuid[], $2::uuid[], $3::varchar[]) AS b(user_id, managed_bot_id, mode)
         JOIN managed_follow_books s ON s.user_id = b.user_id AND s.managed_bot_id = b.managed_bot_id AND s.mode = b.mode`,
      cols,
    )) as BookRow[];
    const states = new Map<string, BookRow>();
    // A state cut in another zone, or written by another version of the fold, is rebuilt from the book's fills.
    for (const s of stored) if (s.timezone === tz && s.state?.v === FOLD_STATE_VERSION) states.set(keyOf(s), s);
    const horizons = books.map((b) => states.get(keyOf(b))?.horizon_us ?? null);

    const rows = (await m.query(
      `WITH b AS (
         SELECT user_id, managed_bot_id, mode, ${TS_SQL('horizon_us')} AS horizon
           FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::bigint[]) AS b(user_id, managed_bot_id, mode, horizon_us)
       ), h AS (
         -- The next horizon: not within the margin, and never past a fill of an order still open.
         SELECT b.*, least(now() - ${this.marginSql},
                           (SELECT min(o.updated_at) FROM orders o
                             WHERE o.managed_bot_id = b.managed_bot_id AND o.user_id = b.user_id AND o.mode = b.mode
                               AND o.bot_id IS NULL AND o.filled > 0 AND o.closed_at IS NULL)) AS next_horizon
           FROM b
       )
       SELECT h.user_id, h.managed_bot_id, h.mode, ${US_SQL('h.next_horizon')} AS next_horizon_us, x.id, x.symbol, x.side, x.quote, x.px::text AS px, x.qty::text AS qty,
              CASE WHEN x.qty > 0 THEN (${UNIT_SQL})::text END AS unit,
              ${US_SQL('x.at')} AS at_us, (x.at AT TIME ZONE $5)::date::text AS day,
              (x.closed_at IS NOT NULL AND x.at < h.next_horizon) AS settled
         FROM h LEFT JOIN LATERAL (
           SELECT s.*, ${FILL_VALUES_SQL}
             FROM (SELECT ${FILL_COLUMNS_SQL}, o.closed_at FROM orders o
                    WHERE o.managed_bot_id = h.managed_bot_id AND o.user_id = h.user_id AND o.mode = h.mode AND o.bot_id IS NULL
                      AND ${COUNTED_FILL_SQL}
                      AND (h.horizon IS NULL OR coalesce(o.closed_at, o.updated_at) >= h.horizon)) s
         ) x ON true
        ORDER BY h.user_id, h.managed_bot_id, h.mode, x.symbol, x.at, x.created_at, x.id`,
      [...cols, horizons, tz],
    )) as Array<BookKey & { next_horizon_us: string } & Partial<FillRow> & { id: string | null }>;

    const byBook = new Map<string, { next: string; settled: FoldFill[]; open: FoldFill[] }>();
    for (const r of rows) {
      const k = keyOf(r);
      let e = byBook.get(k);
      if (!e) byBook.set(k, (e = { next: r.next_horizon_us, settled: [], open: [] }));
      if (r.id === null) continue;
      const fill: FoldFill = { id: r.id, symbol: r.symbol!, side: r.side!, quote: r.quote!, px: r.px!, qty: r.qty!, unit: r.unit ?? null, at_us: r.at_us!, day: r.day! };
      (r.settled ? e.settled : e.open).push(fill);
    }

    const out = new Map<string, FoldFigures>();
    const writes: Array<{ book: BookKey; horizon: string; state: FoldState }> = [];
    for (const b of books) {
      const k = keyOf(b);
      const e = byBook.get(k)!;
      const prior = states.get(k);
      const book = new FifoBook(prior?.state ?? null).fold(e.settled);
      const old = prior?.horizon_us ?? null;
      // A horizon only moves forward (a clock step back or a fill older than the margin would otherwise be folded twice).
      const horizon = old !== null && BigInt(old) > BigInt(e.next) ? old : e.next;
      // Written when it folded something (or is new): a book with nothing to fold keeps its state and horizon, both still true.
      if (e.settled.length > 0 || !prior) writes.push({ book: b, horizon, state: book.state(keepDaysFrom(since)) });
      out.set(k, book.fold(e.open).figures(since));
    }
    if (writes.length > 0) {
      await m.query(
        `INSERT INTO managed_follow_books AS t (user_id, managed_bot_id, mode, horizon, timezone, state, updated_at)
         SELECT u, mb, md, ${TS_SQL('h')}, $5, s, now() FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::bigint[], $6::jsonb[]) AS w(u, mb, md, h, s)
         ON CONFLICT (user_id, managed_bot_id, mode) DO UPDATE
           SET horizon = excluded.horizon, timezone = excluded.timezone, state = excluded.state, updated_at = now()
         WHERE t.horizon <= excluded.horizon OR t.timezone <> excluded.timezone OR (t.state ->> 'v')::int IS DISTINCT FROM $7`,
        [
          writes.map((w) => w.book.user_id),
          writes.map((w) => w.book.managed_bot_id),
          writes.map((w) => w.book.mode),
          writes.map((w) => w.horizon),
          tz,
          writes.map((w) => JSON.stringify(w.state)),
          FOLD_STATE_VERSION,
        ],
      );
    }
    return out;
  }
}

/** Days kept in a state: a few before the window read (`since`), so a window a day or two back still finds them. */
function keepDaysFrom(since: string): string {
  const d = new Date(`${since}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 7);
  return d.toISOString().slice(0, 10);
}

export { keyOf as bookKeyOf };
