import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  AuditService,
  EXCHANGE_CREDENTIAL_TESTER,
  ExchangeCredentials,
  ExchangeCredentialTester,
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

export interface ConnectionView {
  exchange_connected: boolean;
  exchange: { id: string; sandbox: boolean; api_key_hint: string; connected_at: Date } | null;
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

  /** Test first, through the gateway; only credentials the exchange accepts are stored. */
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
    };
    await this.ds.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(ExchangeCredential)
        .values(values)
        .orUpdate(['exchange', 'api_key_enc', 'secret_enc', 'passphrase_enc', 'key_id', 'api_key_hint', 'sandbox', 'updated_at'], ['user_id'])
        .execute();
      await this.audit.record({ event_type: 'exchange.connected', user_id: userId, data: { exchange, sandbox: creds.sandbox, api_key_hint: values.api_key_hint }, ip: meta.ip, user_agent: meta.user_agent }, m);
    });
    this.logger.log({ user_id: userId, exchange, sandbox: creds.sandbox }, 'Exchange connected');
    return this.view(userId);
  }

  /** Deletes the keys; in the same transaction the listeners stop what used them (live bots). */
  async disconnect(userId: string, meta: RequestMeta): Promise<void> {
    await this.ds.transaction((m) => this.disconnectIn(m, userId, meta));
  }

  /** The same inside a caller's transaction (account erasure); `actor_id` set when an admin did it. */
  async disconnectIn(m: EntityManager, userId: string, meta: { ip: string | null; user_agent: string | null; actor_id?: string | null }): Promise<void> {
    const deleted = (await m.query(`DELETE FROM exchange_credentials WHERE user_id = $1 RETURNING exchange`, [userId])) as [Array<{ exchange: string }>, number];
    const [rows] = deleted;
    if (rows.length === 0) return;
    await this.hooks.disconnected({ user_id: userId, exchange: rows[0].exchange }, m);
    await this.audit.record(
      { event_type: 'exchange.disconnected', user_id: userId, actor_id: meta.actor_id, data: { exchange: rows[0].exchange }, ip: meta.ip, user_agent: meta.user_agent },
      m,
    );
  }

  async view(userId: string): Promise<ConnectionView> {
    const row = await this.ds.getRepository(ExchangeCredential).findOne({ where: { user_id: userId } });
    if (!row) return { exchange_connected: false, exchange: null };
    return { exchange_connected: true, exchange: { id: row.exchange, sandbox: row.sandbox, api_key_hint: row.api_key_hint, connected_at: row.updated_at } };
  }

  /** For the worker only, at the moment of use; the plaintext never leaves the caller's stack. */
  async decryptedFor(userId: string): Promise<(ExchangeCredentials & { userId: string; keyId: string }) | null> {
    const row = await this.ds
      .getRepository(ExchangeCredential)
      .createQueryBuilder('c')
      .addSelect(['c.api_key_enc', 'c.secret_enc', 'c.passphrase_enc'])
      .where('c.user_id = :userId', { userId })
      .getOne();
    if (!row) return null;
    return {
      userId,
      keyId: row.key_id,
      exchange: row.exchange,
      apiKey: this.box.open(row.api_key_enc, userId),
      secret: this.box.open(row.secret_enc, userId),
      passphrase: row.passphrase_enc ? this.box.open(row.passphrase_enc, userId) : null,
      sandbox: row.sandbox,
    };
  }
}
