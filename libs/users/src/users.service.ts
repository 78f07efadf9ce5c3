import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService, Role } from '@torgovo/core';
import { PasswordService } from './auth/password.service';
import { User } from './entities/user.entity';
import { UserErrors } from './errors';

export interface NewUser {
  email: string;
  password: string;
  full_name: string;
  role?: Role;
}

/**
 * Two-key pg_advisory_xact_lock namespace for "make this email an admin": replicas booting
 * together with the same ADMIN_EMAIL (and the CLI) take it, so the second one finds the row the
 * first inserted instead of failing on the unique email.
 */
const ENSURE_ADMIN_LOCK = 7_204_402;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly passwords: PasswordService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Whether the user is active, share-locking their row until the caller's transaction ends: a
   * deactivation (UserAccessService locks the row for update) either committed before, or waits for it.
   * The executor's placement decision reads it this way.
   */
  async isActiveLocked(userId: string, manager: EntityManager): Promise<boolean> {
    const rows = (await manager.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean }>;
    return rows[0]?.is_active ?? false;
  }

  /** isActiveLocked for many users in one statement (the worker's batch of orders): the active ones; rows share-locked in id order. */
  async activeLockedMany(userIds: readonly string[], manager: EntityManager): Promise<Set<string>> {
    const rows = (await manager.query(`SELECT id, is_active FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`, [[...new Set(userIds)]])) as Array<{ id: string; is_active: boolean }>;
    return new Set(rows.filter((r) => r.is_active).map((r) => r.id));
  }

  /** For the CLI: the account with this email (any case), or 404. */
  async getByEmail(email: string): Promise<User> {
    const user = await this.ds.getRepository(User).createQueryBuilder('u').where('lower(u.email) = :e', { e: normalizeEmail(email) }).getOne();
    if (!user) throw UserErrors.userNotFound();
    return user;
  }

  findById(id: string, manager?: EntityManager): Promise<User | null> {
    return (manager ?? this.ds.manager).getRepository(User).findOne({ where: { id } });
  }

  async getById(id: string): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw UserErrors.userNotFound();
    return user;
  }

  /** With the hash, for login only. */
  findByEmailWithHash(email: string): Promise<User | null> {
    return this.ds
      .getRepository(User)
      .createQueryBuilder('u')
      .addSelect('u.password_hash')
      .where('lower(u.email) = :email', { email: normalizeEmail(email) })
      .getOne();
  }

  /**
   * Inserts; the unique index on lower(email) is the arbiter, so concurrent sign-ups cannot both win.
   * `passwordHash`, computed before the transaction, keeps argon2 (64 MiB, ~100 ms) from holding a
   * pooled connection.
   */
  async create(input: NewUser, manager: EntityManager, passwordHash?: string): Promise<User> {
    const hash = passwordHash ?? (await this.passwords.hash(input.password));
    const rows = (await manager.query(
      `INSERT INTO users (email, password_hash, full_name, role)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT ((lower(email))) DO NOTHING
       RETURNING id`,
      [normalizeEmail(input.email), hash, input.full_name.trim(), input.role ?? 'user'],
    )) as Array<{ id: string }>;
    if (rows.length === 0) throw UserErrors.emailTaken();
    return (await this.findById(rows[0].id, manager))!;
  }

  /**
   * ADMIN_EMAIL/ADMIN_PASSWORD at start (`env`) and the `create-admin` command (`cli`): creates the
   * admin when no account has that email. An existing account is promoted (and re-activated) only by
   * the command, an operator's explicit act: at start it is left as the admins set it — every restart
   * of a replica would otherwise undo a deactivation or demotion of that account (a compromised
   * admin put back), and an account someone else registered under that address before the operator
   * set it would become an admin with its own password. Never resets an existing password silently.
   */
  async ensureAdmin(email: string, password: string, source: 'env' | 'cli'): Promise<{ id: string; created: boolean }> {
    return this.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ENSURE_ADMIN_LOCK, normalizeEmail(email)]);
      const existing = await m.getRepository(User).createQueryBuilder('u').where('lower(u.email) = :e', { e: normalizeEmail(email) }).setLock('pessimistic_write').getOne();
      if (existing) {
        if (source === 'env' && (existing.role !== 'admin' || !existing.is_active)) {
          this.logger.warn({ user_id: existing.id, role: existing.role, is_active: existing.is_active }, 'ADMIN_EMAIL names an existing account that is not an active admin: left as it is (promote it with the create-admin command)');
          return { id: existing.id, created: false };
        }
        if (existing.erased_at) throw UserErrors.userErased();
        if (existing.role !== 'admin' || !existing.is_active) {
          await m.getRepository(User).update({ id: existing.id }, { role: 'admin', is_active: true });
          // The operator's act (actor_id null: the system, not the account itself), as the admin API records its changes.
          await this.audit.record({ event_type: 'admin.promoted', user_id: existing.id, actor_id: null, data: { source, from_role: existing.role } }, m);
          if (!existing.is_active) await this.audit.record({ event_type: 'user.activated', user_id: existing.id, actor_id: null, data: { source } }, m);
          this.logger.log({ user_id: existing.id, source }, 'Existing user promoted to admin');
        }
        return { id: existing.id, created: false };
      }
      const user = await this.create({ email, password, full_name: 'Administrator', role: 'admin' }, m);
      await this.audit.record({ event_type: 'admin.created', user_id: user.id, actor_id: null, data: { source } }, m);
      this.logger.log({ user_id: user.id, source }, 'Admin created');
      return { id: user.id, created: true };
    });
  }
}
