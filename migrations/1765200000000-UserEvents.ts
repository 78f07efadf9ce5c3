import { MigrationInterface, QueryRunner } from 'typeorm';

const CHANNEL = 'torgovo_user_events';

/**
 * The user-event feed behind live updates (WebSocket) and notifications: one row per change of a
 * user's order, bot, subscription or payment, written by statement-level triggers with transition
 * tables in the transaction of the change itself, whichever code path makes it (executor, sync,
 * listeners, admin, CLI). One INSERT … SELECT per statement, so a batch of N changes is one insert,
 * and one pg_notify per statement (coalesced per transaction, delivered at commit).
 *
 * Orders: UPDATE only. Inserting an order (the webhook hot path) fires nothing here; a pending order
 * is told about when it moves past `submitting`.
 *
 * The cursor is (xid, id): `xid` is the writing transaction. A reader takes only rows whose
 * transaction is older than every write transaction of this database still running (UserEventFeed),
 * so a row that commits later always sorts after what was already read: nothing is skipped,
 * whatever the commit order. Rows are kept USER_EVENTS_RETENTION_HOURS (≥ 24 h) and pruned by the retention sweeper.
 */
export class UserEvents1765200000000 implements MigrationInterface {
  name = 'UserEvents1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE user_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        user_id uuid NOT NULL,
        type varchar(32) NOT NULL,
        entity_id uuid NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (xid, id)
      )`);
    await q.query(`CREATE INDEX user_events_user_idx ON user_events (user_id, xid, id)`);
    await q.query(`CREATE INDEX user_events_created_idx ON user_events (created_at)`);

    // Readers that keep their own place in the feed (the notification fan-out).
    await q.query(`
      CREATE TABLE user_event_consumers (
        name varchar(64) PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT '0'::xid8,
        id bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE FUNCTION user_events_orders() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_events (user_id, type, entity_id, data)
        SELECT n.user_id, 'order.updated', n.id,
               jsonb_build_object('status', n.status, 'previous_status', o.status, 'reason', n.reason, 'symbol', n.symbol,
                                  'side', n.side, 'mode', n.mode, 'filled', n.filled, 'average', n.average, 'bot_id', n.bot_id)
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.status NOT IN ('pending', 'submitting')
           AND (n.status IS DISTINCT FROM o.status OR n.filled IS DISTINCT FROM o.filled);
        IF FOUND THEN PERFORM pg_notify('${CHANNEL}', ''); END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER user_events_orders AFTER UPDATE ON orders
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION user_events_orders()`);

    await q.query(`
      CREATE FUNCTION user_events_bots() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'bot.updated', n.id, jsonb_build_object('status', n.status, 'name', n.name) FROM new_rows n;
        ELSE
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'bot.updated', n.id,
                 jsonb_build_object('status', n.status, 'previous_status', o.status, 'stop_reason', n.stop_reason, 'name', n.name,
                                    'symbol', n.symbol, 'deleted', n.deleted_at IS NOT NULL)
            FROM new_rows n JOIN old_rows o ON o.id = n.id
           WHERE (n.status, n.stop_reason, n.deleted_at, n.name, n.symbol, n.mode, n.order_type, n.sizing_type, n.sizing_value)
                 IS DISTINCT FROM (o.status, o.stop_reason, o.deleted_at, o.name, o.symbol, o.mode, o.order_type, o.sizing_type, o.sizing_value);
        END IF;
        IF FOUND THEN PERFORM pg_notify('${CHANNEL}', ''); END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER user_events_bots_insert AFTER INSERT ON bots
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_bots()`);
    await q.query(`
      CREATE TRIGGER user_events_bots_update AFTER UPDATE ON bots
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_bots()`);

    await q.query(`
      CREATE FUNCTION user_events_subscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'subscription.updated', n.id, jsonb_build_object('status', n.status, 'plan_id', n.plan_id) FROM new_rows n;
        ELSE
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'subscription.updated', n.id,
                 jsonb_build_object('status', n.status, 'previous_status', o.status, 'plan_id', n.plan_id, 'end_reason', n.end_reason)
            FROM new_rows n JOIN old_rows o ON o.id = n.id
           WHERE (n.status, n.end_date, n.auto_renew, n.cancel_at_period_end, n.plan_id)
                 IS DISTINCT FROM (o.status, o.end_date, o.auto_renew, o.cancel_at_period_end, o.plan_id);
        END IF;
        IF FOUND THEN PERFORM pg_notify('${CHANNEL}', ''); END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER user_events_subscriptions_insert AFTER INSERT ON user_subscriptions
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_subscriptions()`);
    await q.query(`
      CREATE TRIGGER user_events_subscriptions_update AFTER UPDATE ON user_subscriptions
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_subscriptions()`);

    await q.query(`
      CREATE FUNCTION user_events_payments() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'payment.updated', n.id, jsonb_build_object('status', n.status) FROM new_rows n WHERE n.user_id IS NOT NULL;
        ELSE
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'payment.updated', n.id,
                 jsonb_build_object('status', n.status, 'previous_status', o.status, 'failure_reason', n.failure_reason)
            FROM new_rows n JOIN old_rows o ON o.id = n.id
           WHERE n.user_id IS NOT NULL AND (n.status, n.refunded_at) IS DISTINCT FROM (o.status, o.refunded_at);
        END IF;
        IF FOUND THEN PERFORM pg_notify('${CHANNEL}', ''); END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER user_events_payments_insert AFTER INSERT ON payments
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_payments()`);
    await q.query(`
      CREATE TRIGGER user_events_payments_update AFTER UPDATE ON payments
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_payments()`);

    // Internal (never pushed): a deactivated user's sockets are closed at once.
    await q.query(`
      CREATE FUNCTION user_events_users() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_events (user_id, type, entity_id)
        SELECT n.id, 'user.deactivated', n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.is_active AND NOT n.is_active;
        IF FOUND THEN PERFORM pg_notify('${CHANNEL}', ''); END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER user_events_users AFTER UPDATE ON users
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_events_users()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER user_events_users ON users`);
    await q.query(`DROP TRIGGER user_events_payments_update ON payments`);
    await q.query(`DROP TRIGGER user_events_payments_insert ON payments`);
    await q.query(`DROP TRIGGER user_events_subscriptions_update ON user_subscriptions`);
    await q.query(`DROP TRIGGER user_events_subscriptions_insert ON user_subscriptions`);
    await q.query(`DROP TRIGGER user_events_bots_update ON bots`);
    await q.query(`DROP TRIGGER user_events_bots_insert ON bots`);
    await q.query(`DROP TRIGGER user_events_orders ON orders`);
    for (const f of ['users', 'payments', 'subscriptions', 'bots', 'orders']) await q.query(`DROP FUNCTION user_events_${f}()`);
    await q.query(`DROP TABLE user_event_consumers`);
    await q.query(`DROP TABLE user_events`);
  }
}
