import type { DataSource } from 'typeorm';
import { CommonErrors } from '../errors/domain-error';
import type { PageQuery } from './pagination';

/**
 * Lists over every user's rows (the admin's orders, payments, audit log) count at most this many
 * matches and page no further: an exact count or a deep OFFSET over 10M orders costs seconds, and
 * nobody pages that far — they narrow the filters (from/to, user_id) instead.
 */
export const LIST_COUNT_CAP = 10_000;

/** WHERE clauses with numbered parameters; undefined/null values add nothing. */
export class SqlFilter {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  /** `clause` gets the placeholder ($n) of `value`. */
  add(value: unknown, clause: (p: string) => string): this {
    if (value === undefined || value === null) return this;
    this.params.push(value);
    this.parts.push(clause(`$${this.params.length}`));
    return this;
  }

  get where(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

export interface CappedPage<T> {
  items: T[];
  /** Matching rows, counted up to LIST_COUNT_CAP. */
  total: number;
  /** More than LIST_COUNT_CAP rows match: `total` is the cap. */
  total_capped: boolean;
  page: number;
  limit: number;
}

/**
 * One page of `SELECT select FROM from WHERE … ORDER BY orderBy`, newest first by the caller's
 * index, and the capped count (one index range scan of at most LIST_COUNT_CAP + 1 entries).
 */
export async function cappedList<T>(
  ds: DataSource,
  spec: { select: string; from: string; filter: SqlFilter; orderBy: string },
  q: PageQuery,
): Promise<CappedPage<T>> {
  if (q.offset + q.limit > LIST_COUNT_CAP) {
    throw CommonErrors.validation(`Only the first ${LIST_COUNT_CAP} rows can be paged through: narrow the filters (from, to, user_id)`, [
      { field: 'page', message: `page × limit must be at most ${LIST_COUNT_CAP}` },
    ]);
  }
  const { where, params } = spec.filter;
  const n = params.length;
  const [items, counted] = await Promise.all([
    ds.query(`SELECT ${spec.select} FROM ${spec.from} ${where} ORDER BY ${spec.orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, q.limit, q.offset]) as Promise<T[]>,
    ds.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${spec.from} ${where} LIMIT ${LIST_COUNT_CAP + 1}) t`, params) as Promise<Array<{ n: number }>>,
  ]);
  const total = counted[0].n;
  return { items, total: Math.min(total, LIST_COUNT_CAP), total_capped: total > LIST_COUNT_CAP, page: q.page, limit: q.limit };
}
