import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { REDACTED_KEYS } from '../logging/logging.module';
import { AuditLog } from './entities/audit-log.entity';

export interface AuditEntry {
  event_type: string;
  user_id?: string | null;
  /** Who acted: omitted = the user themselves; null = the system (scheduler, provider webhook). */
  actor_id?: string | null;
  data?: Record<string, unknown>;
  ip?: string | null;
  user_agent?: string | null;
}

const SECRET_KEYS = new Set(REDACTED_KEYS.map((k) => k.toLowerCase()));

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEYS.has(k.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

@Injectable()
export class AuditService {
  constructor(@InjectRepository(AuditLog) private readonly repo: Repository<AuditLog>) {}

  /** Pass the transaction's manager so the audit row commits or rolls back with the change it describes. */
  async record(entry: AuditEntry, manager?: EntityManager): Promise<void> {
    await this.insertMany([entry], manager);
  }

  /** One statement for any number of rows (unnest of parallel arrays): sweeps audit thousands at once. */
  async insertMany(entries: AuditEntry[], manager?: EntityManager): Promise<void> {
    if (entries.length === 0) return;
    const runner = manager ?? this.repo.manager;
    await runner.query(
      `INSERT INTO audit_logs (event_type, user_id, actor_id, data, ip, user_agent)
       SELECT * FROM unnest($1::varchar[], $2::uuid[], $3::uuid[], $4::jsonb[], $5::varchar[], $6::varchar[])`,
      [
        entries.map((e) => e.event_type),
        entries.map((e) => e.user_id ?? null),
        entries.map((e) => (e.actor_id === undefined ? (e.user_id ?? null) : e.actor_id)),
        entries.map((e) => JSON.stringify(redact(e.data ?? {}))),
        entries.map((e) => e.ip ?? null),
        entries.map((e) => e.user_agent ?? null),
      ],
    );
  }
}
