import type { DataSource } from 'typeorm';
import { cappedList, CappedPage, SqlFilter } from '../pagination/capped-list';
import type { PageQuery } from '../pagination/pagination';

export interface AuditLogFilter {
  event_type?: string;
  user_id?: string;
  from?: Date;
  to?: Date;
}

export interface AuditLogRow {
  id: string;
  event_type: string;
  user_id: string | null;
  actor_id: string | null;
  data: Record<string, unknown>;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
}

/**
 * The audit log, newest first: audit_logs_user_idx (user_id), audit_logs_event_idx (event_type)
 * or audit_logs_created_idx; the count is capped (LIST_COUNT_CAP).
 */
export function listAuditLogs(ds: DataSource, f: AuditLogFilter, q: PageQuery): Promise<CappedPage<AuditLogRow>> {
  const filter = new SqlFilter()
    .add(f.event_type, (p) => `a.event_type = ${p}`)
    .add(f.user_id, (p) => `a.user_id = ${p}`)
    .add(f.from, (p) => `a.created_at >= ${p}`)
    .add(f.to, (p) => `a.created_at < ${p}`);
  return cappedList<AuditLogRow>(
    ds,
    { select: 'a.id, a.event_type, a.user_id, a.actor_id, a.data, a.ip, a.user_agent, a.created_at', from: 'audit_logs a', filter, orderBy: 'a.created_at DESC, a.id DESC' },
    q,
  );
}
