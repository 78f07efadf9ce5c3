import { SecretBox } from '@torgovo/core';
import { CredentialResealService, ExchangeCredentialsService, SecretResealJob } from '@torgovo/users';
import { FakeOkxServer } from '../fakes/okx/fake-okx-server';
import { createTestApp, TestApp, WORKER_JOBS_BY_HAND } from '../support/app';
import { runCli } from '../support/cli';
import { pauseOnce } from '../support/pause-once';

/**
 * ENCRYPTION_KEY rotation (review D7): K1 leaked, K2 is now ENCRYPTION_KEY and K1 is in
 * ENCRYPTION_KEYS_OLD. Every stored secret must move to K2 (so K1 can be removed), open to the same
 * plaintext, and a user's keys connected while the re-seal runs must stand.
 */
describe('re-sealing stored secrets after an ENCRYPTION_KEY rotation (e2e, real PostgreSQL)', () => {
  const K1 = Buffer.alloc(32, 1).toString('base64');
  const K2 = Buffer.alloc(32, 2).toString('base64');
  const K3 = Buffer.alloc(32, 3).toString('base64'); // a key this deployment was never given
  const underK1 = new SecretBox(K1);
  const underK3 = new SecretBox(K3);
  // K2 alone, without K1: what opens after the operator removes the leaked key.
  const k2Only = new SecretBox(K2);

  const oldKeys = { apiKey: 'okx-old-key-0001', secret: 'OLD-SECRET-do-not-leak-1', passphrase: 'Old-Pass-do-not-leak-1' };
  const newKeys = { apiKey: 'okx-new-key-0002', secret: 'NEW-SECRET-do-not-leak-2', passphrase: 'New-Pass-do-not-leak-2' };
  const plaintexts = [oldKeys, newKeys].flatMap((k) => [k.apiKey, k.secret, k.passphrase]);

  let okx: FakeOkxServer;
  let t: TestApp;

  beforeAll(async () => {
    okx = await new FakeOkxServer().start();
    okx.addAccount({ ...oldKeys, balances: { USDT: '1000' } });
    okx.addAccount({ ...newKeys, balances: { USDT: '1000' } });
    t = await createTestApp({
      ...WORKER_JOBS_BY_HAND,
      OKX_API_URL: okx.url,
      ENCRYPTION_KEY: K2,
      ENCRYPTION_KEYS_OLD: K1,
      // Small batches: a run goes through several reads and guarded writes.
      SECRET_RESEAL_BATCH: '2',
    });
  });
  afterAll(async () => {
    await t?.close();
    await okx?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  type Row = { id: string; user_id: string; key_id: string; api_key_enc: string; secret_enc: string; passphrase_enc: string | null; retired: boolean; updated_at: string };
  const rowsOf = async (userId: string): Promise<Row[]> =>
    (await t.db.dataSource.query(
      `SELECT id, user_id, key_id, api_key_enc, secret_enc, passphrase_enc, retired_at IS NOT NULL AS retired, updated_at::text AS updated_at
         FROM exchange_credentials WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    )) as Row[];

  /** A credential as connect stored it while `box`'s key was ENCRYPTION_KEY (before the rotation). */
  async function storedUnder(box: SecretBox, userId: string, keys: { apiKey: string; secret: string; passphrase: string | null }, opts: { retired?: boolean; aad?: string } = {}): Promise<string> {
    const aad = opts.aad ?? userId;
    const [{ id }] = (await t.db.dataSource.query(
      `INSERT INTO exchange_credentials (user_id, exchange, api_key_enc, secret_enc, passphrase_enc, key_id, api_key_hint, sandbox, retired_at, created_at, updated_at)
       VALUES ($1, 'okx', $2, $3, $4, $5, $6, false, $7, now() - interval '1 day', now() - interval '1 day') RETURNING id`,
      [
        userId,
        box.seal(keys.apiKey, aad),
        box.seal(keys.secret, aad),
        keys.passphrase === null ? null : box.seal(keys.passphrase, aad),
        box.currentKeyId,
        keys.apiKey.slice(-4),
        opts.retired ? new Date(Date.now() - 3_600_000) : null,
      ],
    )) as Array<{ id: string }>;
    return id;
  }

  /** Every ciphertext of the row is under K2 and opens, with K2 alone, to `keys`. */
  function expectUnderK2(row: Row, keys: { apiKey: string; secret: string; passphrase: string | null }): void {
    expect(row.key_id).toBe(k2Only.currentKeyId);
    for (const enc of [row.api_key_enc, row.secret_enc, row.passphrase_enc].filter((e): e is string => e !== null)) expect(k2Only.keyIdOf(enc)).toBe(k2Only.currentKeyId);
    expect(k2Only.open(row.api_key_enc, row.user_id)).toBe(keys.apiKey);
    expect(k2Only.open(row.secret_enc, row.user_id)).toBe(keys.secret);
    expect(row.passphrase_enc === null ? null : k2Only.open(row.passphrase_enc, row.user_id)).toBe(keys.passphrase);
  }

  const healthFlag = async () =>
    (await t.request<{ details: { alerts: { raised: string[]; flags: Record<string, Record<string, unknown>> } } }>('GET', '/health')).body.details.alerts;

  it('every row under K1 ends under K2 and opens to the same plaintext; a row under an unknown key is reported in the run, the log and GET /health, and left as it is', async () => {
    const a = await t.register();
    const b = await t.register();
    const c = await t.register();
    const stranger = await t.register();
    const aRetired = await storedUnder(underK1, a.id, oldKeys, { retired: true });
    const aCurrent = await storedUnder(underK1, a.id, newKeys);
    await storedUnder(underK1, b.id, oldKeys);
    await storedUnder(underK1, c.id, { ...newKeys, passphrase: null });
    await storedUnder(underK3, stranger.id, oldKeys);
    const strangerBefore = await rowsOf(stranger.id);
    const connectedAt = ((await t.request<{ exchange: { connected_at: string } }>('GET', '/api/users/me', { token: a.access_token })).body.exchange.connected_at);

    const run = await t.app.get(SecretResealJob).tick();
    expect(run).toMatchObject({ resealed: 4, skipped: 0, failed: 0, stopped: false });
    expect(run!.remaining).toEqual({ rows_under_old_keys: 1, rows_under_unknown_keys: 1, unknown_key_ids: [underK3.currentKeyId] });

    const [retiredRow, currentRow] = await rowsOf(a.id);
    expect([retiredRow.id, retiredRow.retired, currentRow.id, currentRow.retired]).toEqual([aRetired, true, aCurrent, false]);
    expectUnderK2(retiredRow, oldKeys);
    expectUnderK2(currentRow, newKeys);
    expectUnderK2((await rowsOf(b.id))[0], oldKeys);
    expectUnderK2((await rowsOf(c.id))[0], { ...newKeys, passphrase: null });
    // The re-seal is not a reconnect: the user's connected_at (updated_at) is untouched.
    expect((await t.request<{ exchange: { connected_at: string } }>('GET', '/api/users/me', { token: a.access_token })).body.exchange.connected_at).toBe(connectedAt);
    // The worker still opens them through its own path, the current keys and a retired one by id.
    const creds = t.app.get(ExchangeCredentialsService);
    expect(await creds.decryptedFor(a.id)).toMatchObject({ apiKey: newKeys.apiKey, secret: newKeys.secret, passphrase: newKeys.passphrase, keyId: k2Only.currentKeyId });
    expect(await creds.decryptedById(a.id, aRetired)).toMatchObject({ apiKey: oldKeys.apiKey, secret: oldKeys.secret, passphrase: oldKeys.passphrase });

    // The unknown key's row: not crashed on, not touched, reported.
    expect(await rowsOf(stranger.id)).toEqual(strangerBefore);
    const alerts = await healthFlag();
    expect(alerts.raised).toContain('secrets_under_old_keys');
    expect(alerts.flags.secrets_under_old_keys).toMatchObject({ raised: true, rows_under_old_keys: 1, rows_under_unknown_keys: 1, failed_last_run: 0 });
    expect(t.logs.text()).toContain('Stored secrets left under old or unknown encryption keys');
    for (const p of plaintexts) expect(t.logs.text()).not.toContain(p);

    // The stranger disconnects (the row goes); the next run finds nothing left and the flag comes down.
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: stranger.access_token })).status).toBe(204);
    const again = await t.app.get(SecretResealJob).tick();
    expect(again).toMatchObject({ resealed: 0, failed: 0, remaining: { rows_under_old_keys: 0, rows_under_unknown_keys: 0 } });
    expect((await healthFlag()).flags.secrets_under_old_keys).toMatchObject({ raised: false, rows_under_old_keys: 0 });
  });

  it('the job reads a batch, then the user connects new keys, then the job writes: the new keys stand (the read row changed, its guarded update is skipped) and the replaced row is re-sealed on the next pass', async () => {
    const u = await t.register();
    const before = await storedUnder(underK1, u.id, oldKeys);
    const reseal = t.app.get(CredentialResealService);
    // A: the job has read its batch (this row, current, under K1) and re-sealed it in memory.
    const pause = pauseOnce(reseal, 'writeBatch', 'before');
    let running: Promise<unknown> | undefined;
    try {
      running = t.app.get(SecretResealJob).tick();
      await pause.reached;
      // B: the user connects new keys meanwhile: the read row is retired, the new keys are a new row under K2.
      const res = await t.request('POST', '/api/users/me/exchange', {
        token: u.access_token,
        body: { exchange: 'okx', api_key: newKeys.apiKey, secret: newKeys.secret, passphrase: newKeys.passphrase, sandbox: false },
      });
      expect(res.status).toBe(200);
    } finally {
      pause.release();
    }
    const connected = (await rowsOf(u.id)).find((r) => !r.retired)!;
    expect(connected.id).not.toBe(before);
    // A's effect: the guarded write finds the row changed and leaves it.
    const run = (await running) as { resealed: number; skipped: number; remaining: { rows_under_old_keys: number } };

    const rows = await rowsOf(u.id);
    const now = rows.find((r) => !r.retired)!;
    // The new keys stand: the same row, byte for byte as connect wrote it, and it opens to the new keys.
    expect(now).toEqual(connected);
    expectUnderK2(now, newKeys);
    expect(await t.app.get(ExchangeCredentialsService).decryptedFor(u.id)).toMatchObject({ apiKey: newKeys.apiKey, secret: newKeys.secret, credentialId: connected.id });
    // The replaced row stays retired; read again by the next pass and re-sealed there, still the old keys.
    const old = rows.find((r) => r.id === before)!;
    expect(old.retired).toBe(true);
    expectUnderK2(old, oldKeys);
    expect(run.skipped).toBe(1);
    expect(run.resealed).toBe(1);
    expect(run.remaining.rows_under_old_keys).toBe(0);
  });

  it('a placement decision holds a user\'s keys (FOR SHARE, as currentLockedMany), then the job writes: it neither waits nor deadlocks — that row is left for a later run, the others are re-sealed', async () => {
    const held = await t.register();
    const free = await t.register();
    const heldId = await storedUnder(underK1, held.id, oldKeys);
    await storedUnder(underK1, free.id, newKeys);
    const qr = t.db.dataSource.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      // The live decision's lock on the keys it is about to send with.
      await qr.query(`SELECT id FROM exchange_credentials WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`, [[heldId]]);
      const run = await Promise.race([
        t.app.get(SecretResealJob).tick(),
        new Promise<'waited'>((r) => setTimeout(() => r('waited'), 5_000)),
      ]);
      // A re-seal that waited for the decision's lock would stall every placement queued behind it.
      expect(run).not.toBe('waited');
      expect(run).toMatchObject({ failed: 0 });
      expect((await rowsOf(held.id))[0].key_id).toBe(underK1.currentKeyId);
      expectUnderK2((await rowsOf(free.id))[0], newKeys);
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    // The decision committed: the next run takes the row it left.
    await t.app.get(SecretResealJob).tick();
    expectUnderK2((await rowsOf(held.id))[0], oldKeys);
  });

  it('a row that does not open under its key (bound to another owner) is logged by id and reported; the rest of its batch is re-sealed', async () => {
    const u = await t.register();
    const v = await t.register();
    const w = await t.register();
    const copied = await storedUnder(underK1, u.id, oldKeys, { aad: v.id });
    await storedUnder(underK1, v.id, oldKeys);
    await storedUnder(underK1, w.id, newKeys);
    const run = await t.app.get(SecretResealJob).tick();
    expect(run).toMatchObject({ resealed: 2, failed: 1, remaining: { rows_under_old_keys: 1, rows_under_unknown_keys: 0 } });
    expectUnderK2((await rowsOf(v.id))[0], oldKeys);
    expectUnderK2((await rowsOf(w.id))[0], newKeys);
    expect((await rowsOf(u.id))[0].key_id).toBe(underK1.currentKeyId);
    const line = t.logs.lines.find((l) => l.includes('could not be opened for re-sealing') && l.includes(copied));
    expect(line).toBeDefined();
    for (const p of plaintexts) expect(t.logs.text()).not.toContain(p);
    expect((await healthFlag()).flags.secrets_under_old_keys).toMatchObject({ raised: true, rows_under_old_keys: 1, failed_last_run: 1 });
    expect((await t.request('DELETE', '/api/users/me/exchange', { token: u.access_token })).status).toBe(204);
  });

  it('`cli reseal-secrets` re-seals by hand and prints what remains; --count only counts; exit 2 while rows remain under old keys', async () => {
    const u = await t.register();
    await storedUnder(underK1, u.id, oldKeys);
    const env = { ENCRYPTION_KEY: K2, ENCRYPTION_KEYS_OLD: K1 };
    const counted = await runCli(t, ['reseal-secrets', '--count'], env).catch((e: { code: number; stdout: string }) => e);
    expect(counted).toMatchObject({ code: 2 });
    expect(counted.stdout).toContain('Rows under old keys: 1.');
    expect((await rowsOf(u.id))[0].key_id).toBe(underK1.currentKeyId);

    const { stdout } = await runCli(t, ['reseal-secrets'], env);
    expect(stdout).toContain(`Re-sealed 1 stored exchange credentials under the current key (${k2Only.currentKeyId})`);
    expect(stdout).toContain('Rows under old keys: 0.');
    expect(stdout).toContain('the keys in ENCRYPTION_KEYS_OLD can be removed');
    for (const p of plaintexts) expect(stdout).not.toContain(p);
    expectUnderK2((await rowsOf(u.id))[0], oldKeys);
  });
});
