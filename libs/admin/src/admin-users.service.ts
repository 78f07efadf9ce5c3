import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Page, PageQuery } from '@torgovo/core';
import { BotsService, toBotResponse } from '@torgovo/custom-bots';
import { holdsCurrentPlanSql, SubscriptionsService, toSubscriptionResponse } from '@torgovo/subscriptions';
import { AccessActor, AccessChange, ExchangeCredentialsService, UserAccessService, UserErrors, UsersService } from '@torgovo/users';
import { AdminUserDetail, AdminUserResponse, AdminUsersQuery } from './dto/admin-user.dto';

interface UserRow {
  id: string;
  email: string;
  full_name: string;
  role: 'user' | 'admin';
  is_active: boolean;
  last_login_at: Date | null;
  erased_at: Date | null;
  created_at: Date;
  total?: string;
}

const toAdminUser = (u: UserRow): AdminUserResponse => ({
  id: u.id,
  email: u.email,
  full_name: u.full_name,
  role: u.role,
  is_active: u.is_active,
  last_login_at: u.last_login_at?.toISOString() ?? null,
  erased_at: u.erased_at?.toISOString() ?? null,
  created_at: u.created_at.toISOString(),
});

/** The list's filters, parameters $1–$4 (see filterParams). */
const FILTER = `($1::text IS NULL OR strpos(lower(u.email), lower($1)) > 0)
  AND ($2::text IS NULL OR u.role = $2)
  AND ($3::boolean IS NULL OR u.is_active = $3)
  AND ($4::text IS NULL OR ${holdsCurrentPlanSql('u.id', 4)})`;
const filterParams = (q: AdminUsersQuery) => [q.email ?? null, q.role ?? null, q.is_active ?? null, q.plan ?? null];

/** A whole page of the user list, more than any admin screen shows of a user's own rows. */
const DETAIL_ROWS = new PageQuery();
DETAIL_ROWS.limit = 200;

/**
 * The back office's view of users. Reads are one statement over users (the plan filter is the
 * subscriptions lib's own fragment); every change goes through UserAccessService, where the rules live.
 */
@Injectable()
export class AdminUsersService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly users: UsersService,
    private readonly access: UserAccessService,
    private readonly credentials: ExchangeCredentialsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly bots: BotsService,
  ) {}

  async list(q: AdminUsersQuery): Promise<Page<AdminUserResponse>> {
    const rows = (await this.ds.query(
      `SELECT u.id, u.email, u.full_name, u.role, u.is_active, u.last_login_at, u.erased_at, u.created_at, count(*) OVER () AS total
         FROM users u
        WHERE ${FILTER}
        ORDER BY u.created_at DESC, u.id DESC
        LIMIT $5 OFFSET $6`,
      [...filterParams(q), q.limit, q.offset],
    )) as UserRow[];
    // Past the last page the window count is gone with the rows: count once more then.
    const total = rows.length > 0 ? Number(rows[0].total) : q.offset === 0 ? 0 : await this.count(q);
    return { items: rows.map(toAdminUser), total, page: q.page, limit: q.limit };
  }

  async detail(id: string): Promise<AdminUserDetail> {
    const user = await this.users.findById(id);
    if (!user) throw UserErrors.userNotFound();
    const [connection, subscriptions, bots] = await Promise.all([
      this.credentials.view(id),
      this.subscriptions.list(id, DETAIL_ROWS),
      this.bots.list(id, DETAIL_ROWS),
    ]);
    return {
      ...toAdminUser(user),
      exchange_connected: connection.exchange_connected,
      exchange: connection.exchange?.id ?? null,
      subscriptions: subscriptions.items.map(toSubscriptionResponse),
      bots: bots.items.map((b) => toBotResponse(b.bot, b.counters)),
    };
  }

  async update(id: string, change: AccessChange, actor: AccessActor): Promise<AdminUserDetail> {
    await this.access.change(id, change, actor);
    return this.detail(id);
  }

  erase(id: string, actor: AccessActor): Promise<void> {
    return this.access.erase(id, actor);
  }

  private async count(q: AdminUsersQuery): Promise<number> {
    const [{ n }] = (await this.ds.query(
      `SELECT count(*)::int AS n FROM users u WHERE ${FILTER}`,
      filterParams(q),
    )) as Array<{ n: number }>;
    return n;
  }
}
