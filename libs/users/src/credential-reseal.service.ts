import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SecretBox, setHealthFlag } from '@torgovo/core';
import { SecretResealConfig } from './secret-reseal.config';

/**
 * A stored credential as read for re-sealing: its ciphertexts and the state the guarded write
 * compares against. Never holds a plaintext.
 */
export interface SealedCredentialRow {
  id: string;
  user_id: string;
  key_id: string;
  api_key_enc: string;
  secret_enc: string;
  passphrase_enc: string | null;
  /** Not retired when read: a connect or disconnect in between retires it, and the write skips it. */
  current: boolean;
}

/** The row as read (the write's guard) and its ciphertexts under the current key. */
export interface ResealedCredential {
  read: SealedCredentialRow;
  api_key_enc: string;
  secret_enc: string;
  passphrase_enc: string | null;
}

/** Rows not under the current key. Key ids are not secret (8 hex digits of a hash of the key, in every ciphertext). */
export interface OldKeyCensus {
  /** Every row not sealed under the current key, unknown keys included. */
  rows_under_old_keys: number;
  /** Of those, rows under a key this configuration cannot open (neither ENCRYPTION_KEY nor ENCRYPTION_KEYS_OLD). */
  rows_under_unknown_keys: number;
  unknown_key_ids: string[];
}

export interface ResealBatchOutcome {
  /** Rows read (at most the batch size; fewer: the key has no rows past the cursor). */
  read: number;
  resealed: number;
  /** Changed between the read and the write (replaced, retired, deleted, re-sealed elsewhere): left as they are now. */
  skipped: number;
  /** Could not be opened under their key (tampered, or bound to another owner): left as they are, logged by id. */
  failed: number;
  /** Cursor for the next batch of this key. */
  last_id: string | null;
}

export interface ResealRun {
  resealed: number;
  skipped: number;
  failed: number;
  /** Ended early because the job is stopping; the rest waits for the next run. */
  stopped: boolean;
  /** What is left after the run. */
  remaining: OldKeyCensus;
}

/** The health flag's name: GET /health `details.alerts.flags.secrets_under_old_keys`. */
export const SECRET_RESEAL_FLAG = 'secrets_under_old_keys';

const FIRST_ID = '00000000-0000-0000-0000-000000000000';
/** A pass that skipped rows (changed under it) is followed by another, at most this many in one run. */
const MAX_PASSES = 3;

/**
 * Moves every stored exchange credential sealed under an older key (ENCRYPTION_KEYS_OLD) to the
 * current ENCRYPTION_KEY, so that the old key can be removed — after a leak, so that it opens no
 * later copy of the database. The one writer of re-sealed secrets: the worker's job and the CLI
 * both run this.
 *
 * Per batch: one read of up to SECRET_RESEAL_BATCH rows of one old key (keyset by id), the re-seal in
 * memory (each plaintext lives only inside SecretBox.reseal), one UPDATE for the batch. That UPDATE
 * is guarded per row: it writes only over the row exactly as read — same key id, same ciphertexts,
 * still current or still retired. Anything that changed the row in between (new keys connected,
 * which retires it; a disconnect or erasure, which retires or deletes it; another re-seal) wins, and
 * the row is read again by the next pass. The write is by row id, never by user: a user's new keys
 * are another row and are never overwritten with the old secret. It sets only the sealed columns and
 * key_id — not updated_at, which the user sees as `connected_at`.
 */
@Injectable()
export class CredentialResealService {
  private readonly logger = new Logger(CredentialResealService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly box: SecretBox,
    @Inject(SecretResealConfig) private readonly config: SecretResealConfig,
  ) {}

  /** Rows not under the current key, by what this configuration can do about them. One statement. */
  async census(): Promise<OldKeyCensus> {
    const rows = (await this.ds.query(`SELECT key_id, count(*)::int AS n FROM exchange_credentials WHERE key_id <> $1 GROUP BY key_id ORDER BY key_id`, [
      this.box.currentKeyId,
    ])) as Array<{ key_id: string; n: number }>;
    const unknown = rows.filter((r) => !this.box.knows(r.key_id));
    return {
      rows_under_old_keys: rows.reduce((sum, r) => sum + r.n, 0),
      rows_under_unknown_keys: unknown.reduce((sum, r) => sum + r.n, 0),
      unknown_key_ids: unknown.map((r) => r.key_id),
    };
  }

  /**
   * resealAll, then the health flag (unless the run was cut short): raised while rows remain under
   * old keys after a full run — under a key this configuration does not know, or that would not open —
   * which an operator must resolve before removing an old key. Counts only: GET /health is public.
   * The caller holds SECRET_RESEAL_LOCK_KEY (the worker's job, the CLI).
   */
  async run(shouldStop: () => boolean = () => false): Promise<ResealRun> {
    const run = await this.resealAll(shouldStop);
    if (!run.stopped) {
      const { rows_under_old_keys, rows_under_unknown_keys } = run.remaining;
      await setHealthFlag(this.ds, SECRET_RESEAL_FLAG, rows_under_old_keys > 0, { rows_under_old_keys, rows_under_unknown_keys, failed_last_run: run.failed });
    }
    return run;
  }

  /**
   * Re-seals batches until no row of a known old key is left (or `shouldStop` says so between
   * batches), then counts what remains: rows under unknown keys, rows that failed to open, rows
   * skipped in every pass.
   */
  async resealAll(shouldStop: () => boolean = () => false): Promise<ResealRun> {
    const run: ResealRun = { resealed: 0, skipped: 0, failed: 0, stopped: false, remaining: { rows_under_old_keys: 0, rows_under_unknown_keys: 0, unknown_key_ids: [] } };
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let skippedThisPass = 0;
      for (const kid of this.box.oldKeyIds) {
        let after = FIRST_ID;
        for (;;) {
          if (shouldStop()) {
            run.stopped = true;
            break;
          }
          const batch = await this.resealBatch(kid, after, this.config.SECRET_RESEAL_BATCH);
          run.resealed += batch.resealed;
          run.skipped += batch.skipped;
          skippedThisPass += batch.skipped;
          // Failed rows stay under the old key; the cursor moves past them, so they are reported, not retried forever.
          run.failed += batch.failed;
          if (batch.read < this.config.SECRET_RESEAL_BATCH || batch.last_id === null) break;
          after = batch.last_id;
        }
        if (run.stopped) break;
      }
      if (run.stopped || skippedThisPass === 0) break;
    }
    run.remaining = await this.census();
    if (run.resealed > 0 || run.failed > 0 || run.remaining.rows_under_old_keys > 0) {
      const log = { resealed: run.resealed, skipped: run.skipped, failed: run.failed, current_key_id: this.box.currentKeyId, ...run.remaining };
      if (run.failed > 0 || run.remaining.rows_under_unknown_keys > 0) this.logger.error(log, 'Stored secrets left under old or unknown encryption keys');
      else this.logger.log(log, 'Stored secrets re-sealed under the current encryption key');
    }
    return run;
  }

  /** One batch of key `kid` after the row id `after`: one read, the re-seal in memory, one guarded write. */
  async resealBatch(kid: string, after: string, limit: number): Promise<ResealBatchOutcome> {
    const rows = await this.readBatch(kid, after, limit);
    const resealed: ResealedCredential[] = [];
    let failed = 0;
    for (const row of rows) {
      const aad = row.user_id; // as sealed at connect: each ciphertext is bound to its owner
      try {
        resealed.push({
          read: row,
          api_key_enc: this.box.reseal(row.api_key_enc, aad),
          secret_enc: this.box.reseal(row.secret_enc, aad),
          passphrase_enc: row.passphrase_enc === null ? null : this.box.reseal(row.passphrase_enc, aad),
        });
      } catch (err) {
        failed++;
        // The reason is the cipher's ("unable to authenticate data", "Unknown encryption key id …"): never a plaintext.
        this.logger.error({ credential_id: row.id, user_id: row.user_id, key_id: row.key_id, reason: err instanceof Error ? err.message : 'unknown' }, 'Stored secret could not be opened for re-sealing');
      }
    }
    const written = resealed.length > 0 ? await this.writeBatch(resealed) : 0;
    return { read: rows.length, resealed: written, skipped: resealed.length - written, failed, last_id: rows.at(-1)?.id ?? null };
  }

  /** Up to `limit` rows sealed under `kid`, in id order after `after` (index exchange_credentials_key_id_idx). */
  async readBatch(kid: string, after: string, limit: number): Promise<SealedCredentialRow[]> {
    return (await this.ds.query(
      `SELECT id, user_id, key_id, api_key_enc, secret_enc, passphrase_enc, retired_at IS NULL AS current
         FROM exchange_credentials WHERE key_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [kid, after, limit],
    )) as SealedCredentialRow[];
  }

  /**
   * One statement for the batch: each row is written only if it is still exactly as read (see the
   * class comment). Returns how many were written; the others changed in between and are left.
   * The rows are locked first in id order, the order the placement path share-locks its keys in
   * (ExchangeCredentialsService.currentLockedMany), and SKIP LOCKED: a row a placement decision holds
   * is left for the next pass instead of waited for, so the re-seal never stalls nor deadlocks a
   * live decision (an UPDATE … FROM unnest locks in the join's order, and waits).
   */
  async writeBatch(rows: readonly ResealedCredential[]): Promise<number> {
    const [, n] = (await this.ds.query(
      `WITH l AS (
         SELECT id FROM exchange_credentials WHERE id = ANY($2::uuid[]) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED
       )
       UPDATE exchange_credentials c
          SET api_key_enc = v.api_key_enc, secret_enc = v.secret_enc, passphrase_enc = v.passphrase_enc, key_id = $1
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[], $9::text[], $10::text[])
              AS v(id, old_key_id, old_api_key_enc, old_secret_enc, old_passphrase_enc, was_current, api_key_enc, secret_enc, passphrase_enc)
         JOIN l ON l.id = v.id
        WHERE c.id = v.id
          AND c.key_id = v.old_key_id
          AND c.api_key_enc = v.old_api_key_enc
          AND c.secret_enc = v.old_secret_enc
          AND c.passphrase_enc IS NOT DISTINCT FROM v.old_passphrase_enc
          AND (c.retired_at IS NULL) = v.was_current`,
      [
        this.box.currentKeyId,
        rows.map((r) => r.read.id),
        rows.map((r) => r.read.key_id),
        rows.map((r) => r.read.api_key_enc),
        rows.map((r) => r.read.secret_enc),
        rows.map((r) => r.read.passphrase_enc),
        rows.map((r) => r.read.current),
        rows.map((r) => r.api_key_enc),
        rows.map((r) => r.secret_enc),
        rows.map((r) => r.passphrase_enc),
      ],
    )) as [unknown, number];
    return n;
  }
}
