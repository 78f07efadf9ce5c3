import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import {
  AuditService,
  EXCHANGE_CREDENTIAL_TESTER,
  ExchangeCredentials,
  ExchangeCredentialTester,
  KeyPermissions,
  RequestMeta,
  SecretBox,
  SUPPORTED_EXCHANGES,
} from '@torgovo/core';
import { ExchangeCredential } from './entities/exchange-credential.entity';
import { UserHooks } from './user-hooks';
import { UserErrors } from './errors';

export interface ConnectionInput {
  exchange: string;
  api_key: string;
  secret: string;
  passphrase?: string;
  sandbox?: boolean;
}

/**
 * Stamped with the clock when the row is written, i.e. after any placement decision holding it
 * share-locked has committed (not the transaction's start): purgeRetired relies on that order.
 */
const RETIRE = `retired_at = clock_timestamp(), updated_at = now()`;

export type DecryptedCredentials = ExchangeCredentials & { userId: string; keyId: string; credentialId: string };

export interface ConnectionView {
  exchange_connected: boolean;
  exchange: { id: string; sandbox: boolean; api_key_hint: string; connected_at: Date } | null;
  /** Null when no key is connected, or the key was stored before permissions were read. */
  permissions: (KeyPermissions & { checked_at: Date }) | null;
}

@Injectable()
export class ExchangeCredentialsService {
  private readonly logger = new Logger(ExchangeCredentialsService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @Inject(EXCHANGE_CREDENTIAL_TESTER) private readonly tester: ExchangeCredentialTester,
    private readonly hooks: UserHooks,
  ) {}

  /**
   * Test first, through the gateway; only credentials the exchange accepts are stored, and only
   * trade-only keys: what the key may do is read from the exchange at every connect (a reconnect
   * included), and a key with withdraw rights is refused, so funds never leave the user's account
   * through us.
   */
  async connect(userId: string, input: ConnectionInput, meta: RequestMeta): Promise<ConnectionView> {
    const exchange = input.exchange.toLowerCase();
    if (!(SUPPORTED_EXCHANGES as readonly string[]).includes(exchange)) throw UserErrors.unsupportedExchange(input.exchange);
    if (exchange === 'okx' && !input.passphrase) throw UserErrors.passphraseRequired();
    const creds: ExchangeCredentials = { exchange, apiKey: input.api_key, secret: input.secret, passphrase: input.passphrase ?? null, sandbox: input.sandbox ?? false };
    const result = await this.tester.test(creds);
    if (!result.ok) {
      await this.audit.record({ event_type: 'exchange.connect_failed', user_id: userId, data: { exchange, reason: result.reason }, ip: meta.ip, user_agent: meta.user_agent });
      throw UserErrors.exchangeRejected(result.reason);
    }
    const { permissions } = result;
    if (permissions.withdraw) {
      await this.audit.record({
        event_type: 'exchange.connect_refused',
        user_id: userId,
        data: { exchange, reason: 'key_can_withdraw', permissions: permissions.raw },
        ip: meta.ip,
        user_agent: meta.user_agent,
      });
      throw UserErrors.keyCanWithdraw();
    }
    const aad = userId; // binds each ciphertext to its owner: a row copied to another user will not open
    const values = {
      user_id: userId,
      exchange,
      api_key_enc: this.box.seal(creds.apiKey, aad),
      secret_enc: this.box.seal(creds.secret, aad),
      passphrase_enc: creds.passphrase ? this.box.seal(creds.passphrase, aad) : null,
      key_id: this.box.currentKeyId,
      api_key_hint: creds.apiKey.slice(-4),
      sandbox: creds.sandbox,
      permissions,
      permissions_checked_at: new Date(),
    };
    await this.ds.transaction(async (m) => {
      // The account again, where the keys are written: a deactivation or an erasure may have committed
      // during the exchange's check above (seconds on the network). Share-locked, so one committing
      // now (it locks the row for update) waits for this transaction and then removes these keys.
      const [owner] = (await m.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean }>;
      if (!owner?.is_active) throw UserErrors.accountInactive();
      // New keys are a new credential: the old row is retired, not overwritten, so an order sent
      // with the old keys is still looked up with them and never retried with these.
      await m.query(`UPDATE exchange_credentials SET ${RETIRE} WHERE user_id = $1 AND retired_at IS NULL`, [userId]);
      await m.getRepository(ExchangeCredential).insert(values);
      await this.audit.record(
        {
          event_type: 'exchange.connected',
          user_id: userId,
          data: { exchange, sandbox: creds.sandbox, api_key_hint: values.api_key_hint, permissions: permissions.raw, ip_bound: permissions.ip_whitelist.length > 0 },
          ip: meta.ip,
          user_agent: meta.user_agent,
        },
        m,
      );
    });
    // A send decided with the old keys before the replacement committed has reached the exchange
    // (or cannot any more) by the time the new keys are reported connected.
    await this.hooks.sendsSettled({ user_id: userId, mode: 'live' });
    this.logger.log({ user_id: userId, exchange, sandbox: creds.sandbox }, 'Exchange connected');
    return this.view(userId);
  }

  /**
   * Retires the keys: nothing is sent with them any more, and in the same transaction the listeners
   * stop what used them (live bots). They stay sealed only while an order sent with them is
   * unresolved (to look it up), then purgeRetired deletes them.
   */
  async disconnect(userId: string, meta: RequestMeta): Promise<void> {
    await this.ds.transaction((m) => this.endIn(m, userId, meta, 'retire'));
    // Answered only once no send decided with these keys before the commit can still reach the exchange.
    await this.hooks.sendsSettled({ user_id: userId, mode: 'live' });
  }

  /**
   * Account erasure, inside the caller's transaction (`actor_id` set when an admin did it): every key
   * of the user is deleted, retired ones too — an order whose placement answer was lost can then no
   * longer be looked up, and the executor ends it `canceled` credential_changed.
   */
  async disconnectIn(m: EntityManager, userId: string, meta: { ip: string | null; user_agent: string | null; actor_id?: string | null }): Promise<void> {
    await this.endIn(m, userId, meta, 'erase');
  }

  private async endIn(m: EntityManager, userId: string, meta: { ip: string | null; user_agent: string | null; actor_id?: string | null }, how: 'retire' | 'erase'): Promise<void> {
    const sql =
      how === 'retire'
        ? `UPDATE exchange_credentials SET ${RETIRE} WHERE user_id = $1 AND retired_at IS NULL RETURNING id, exchange, true AS was_current`
        : `DELETE FROM exchange_credentials WHERE user_id = $1 RETURNING id, exchange, retired_at IS NULL AS was_current`;
    const [rows] = (await m.query(sql, [userId])) as [Array<{ id: string; exchange: string; was_current: boolean }>, number];
    const current = rows.find((r) => r.was_current);
    if (!current) return;
    // Kept only while an order sent with them is unresolved; otherwise gone now, not at the next purge.
    // (A placement decision holding the row share-locked has committed before this point.)
    if (how === 'retire' && !(await this.hooks.credentialInUse(current.id, m))) {
      await m.query(`DELETE FROM exchange_credentials WHERE id = $1`, [current.id]);
    }
    await this.hooks.disconnected({ user_id: userId, exchange: current.exchange }, m);
    await this.audit.record(
      { event_type: 'exchange.disconnected', user_id: userId, actor_id: meta.actor_id, data: { exchange: current.exchange }, ip: meta.ip, user_agent: meta.user_agent },
      m,
    );
  }

  async view(userId: string): Promise<ConnectionView> {
    const row = await this.ds.getRepository(ExchangeCredential).findOne({ where: { user_id: userId, retired_at: IsNull() } });
    if (!row) return { exchange_connected: false, exchange: null, permissions: null };
    return {
      exchange_connected: true,
      exchange: { id: row.exchange, sandbox: row.sandbox, api_key_hint: row.api_key_hint, connected_at: row.updated_at },
      permissions: row.permissions && row.permissions_checked_at ? { ...row.permissions, checked_at: row.permissions_checked_at } : null,
    };
  }

  /**
   * The user's current credential (id and exchange), share-locked until the caller's transaction
   * ends: a connect or disconnect (which retire this row) either committed before, or waits for it.
   * null: no exchange connected.
   */
  async currentLocked(userId: string, manager: EntityManager): Promise<{ id: string; exchange: string } | null> {
    const rows = (await manager.query(
      `SELECT id, exchange FROM exchange_credentials WHERE user_id = $1 AND retired_at IS NULL FOR SHARE`,
      [userId],
    )) as Array<{ id: string; exchange: string }>;
    return rows[0] ?? null;
  }

  /** currentLocked for many users in one statement (the worker's batch of live orders), rows share-locked in id order: user id → current credential. */
  async currentLockedMany(userIds: readonly string[], manager: EntityManager): Promise<Map<string, { id: string; exchange: string }>> {
    const rows = (await manager.query(
      `SELECT id, user_id, exchange FROM exchange_credentials WHERE user_id = ANY($1::uuid[]) AND retired_at IS NULL ORDER BY id FOR SHARE`,
      [[...new Set(userIds)]],
    )) as Array<{ id: string; user_id: string; exchange: string }>;
    return new Map(rows.map((r) => [r.user_id, { id: r.id, exchange: r.exchange }]));
  }

  /** Whether any user has an exchange connected now (the worker loads its exchange client at start only then). */
  async anyConnected(): Promise<boolean> {
    const [row] = (await this.ds.query(`SELECT EXISTS (SELECT 1 FROM exchange_credentials WHERE retired_at IS NULL) AS any`)) as Array<{ any: boolean }>;
    return row?.any === true;
  }

  /** For the worker only, at the moment of use; the plaintext never leaves the caller's stack. The current keys. */
  decryptedFor(userId: string): Promise<DecryptedCredentials | null> {
    return this.decrypted(userId, null);
  }

  /**
   * decryptedFor for many users in one statement (the worker's batch of live orders: one read per
   * batch instead of one per order): user id → current keys; a user without keys is absent.
   */
  async decryptedForMany(userIds: readonly string[]): Promise<Map<string, DecryptedCredentials>> {
    const out = new Map<string, DecryptedCredentials>();
    if (userIds.length === 0) return out;
    const rows = (await this.ds.query(
      `SELECT id, user_id, exchange, key_id, sandbox, api_key_enc, secret_enc, passphrase_enc
         FROM exchange_credentials WHERE user_id = ANY($1::uuid[]) AND retired_at IS NULL`,
      [[...new Set(userIds)]],
    )) as Array<Pick<ExchangeCredential, 'id' | 'user_id' | 'exchange' | 'key_id' | 'sandbox' | 'api_key_enc' | 'secret_enc' | 'passphrase_enc'>>;
    for (const row of rows) out.set(row.user_id, this.open(row));
    return out;
  }

  /**
   * One credential by id, retired or not (an order is looked up with the keys it was sent with).
   * null: purged (or another user's).
   */
  decryptedById(userId: string, credentialId: string): Promise<DecryptedCredentials | null> {
    return this.decrypted(userId, credentialId);
  }

  /**
   * Deletes retired keys no unresolved order needs any more: retired before `retiredBefore` and not
   * in `stillNeeded` (the credential ids of unresolved orders, read after `retiredBefore` was taken,
   * so an order confirmed with a credential just before it was retired is in the list). One statement.
   */
  async purgeRetired(stillNeeded: readonly string[], retiredBefore: Date): Promise<number> {
    const [, n] = (await this.ds.query(
      `DELETE FROM exchange_credentials WHERE retired_at IS NOT NULL AND retired_at < $2 AND NOT (id = ANY($1::uuid[]))`,
      [stillNeeded, retiredBefore],
    )) as [unknown, number];
    return n;
  }

  /** `credentialId` null: the current keys. */
  private async decrypted(userId: string, credentialId: string | null): Promise<DecryptedCredentials | null> {
    let qb = this.ds
      .getRepository(ExchangeCredential)
      .createQueryBuilder('c')
      .addSelect(['c.api_key_enc', 'c.secret_enc', 'c.passphrase_enc'])
      .where('c.user_id = :userId', { userId });
    qb = credentialId !== null ? qb.andWhere('c.id = :id', { id: credentialId }) : qb.andWhere('c.retired_at IS NULL');
    const row = await qb.getOne();
    return row ? this.open(row) : null;
  }

  private open(row: Pick<ExchangeCredential, 'id' | 'user_id' | 'exchange' | 'key_id' | 'sandbox' | 'api_key_enc' | 'secret_enc' | 'passphrase_enc'>): DecryptedCredentials {
    const userId = row.user_id;
    return {
      userId,
      credentialId: row.id,
      keyId: row.key_id,
      exchange: row.exchange,
      apiKey: this.box.open(row.api_key_enc, userId),
      secret: this.box.open(row.secret_enc, userId),
      passphrase: row.passphrase_enc ? this.box.open(row.passphrase_enc, userId) : null,
      sandbox: row.sandbox,
    };
  }
}
