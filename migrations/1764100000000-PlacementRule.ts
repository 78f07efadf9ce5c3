import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The placement rule (libs/trading/src/manager/placement-rule.ts) decides at execution whether an
 * order may still be sent and how big it is. What it needs on the rows:
 * - orders.sent_at: set (once) in the statement that fences the first send — the row may be on the
 *   exchange from then on, so it is looked up before anything else, never rejected blind;
 * - orders.credential_id: the exchange credential it was first sent with; a retry never goes to
 *   other keys;
 * - orders.position_percent (a sell of a share of the bot's own position: close = 100) and
 *   orders.target_position (trade to the strategy's signed position): sized when executed, so the
 *   amount (and, for a target, the side) is written then;
 * - orders.signal_at: the alert's own time, so an older target alert changes nothing;
 * - bot_positions: the running position per bot (amount and cost basis), moved with every fill, so
 *   sizing a close costs one row read whatever the bot's history;
 * - exchange_credentials.retired_at: keys replaced or disconnected are kept (sealed) while an order
 *   sent with them is unresolved, for the look-up only; the open-orders sync purges them after;
 * - bots.allow_selling_beyond_position: a fixed-size sell sells at most the bot's own position
 *   unless the user opts out per bot.
 */
export class PlacementRule1764100000000 implements MigrationInterface {
  name = 'PlacementRule1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE orders
        ADD COLUMN sent_at timestamptz,
        ADD COLUMN credential_id uuid,
        ADD COLUMN position_percent numeric(36,18) CHECK (position_percent > 0 AND position_percent <= 100),
        ADD COLUMN target_position numeric(36,18),
        ADD COLUMN signal_at timestamptz,
        ALTER COLUMN side DROP NOT NULL`);
    // Rows that may already have been sent by the code before this migration: claimed at least once.
    await q.query(`UPDATE orders SET sent_at = coalesce(submitted_at, updated_at) WHERE attempts > 0 AND sent_at IS NULL`);
    await q.query(`
      UPDATE orders o SET credential_id = c.id
        FROM exchange_credentials c
       WHERE c.user_id = o.user_id AND o.mode = 'live' AND o.attempts > 0 AND o.status IN ('pending', 'submitting', 'open')`);
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_one_sizing`);
    await q.query(`
      ALTER TABLE orders ADD CONSTRAINT orders_one_sizing CHECK (
        CASE WHEN target_position IS NOT NULL THEN quote_amount IS NULL AND quote_percent IS NULL AND position_percent IS NULL
             WHEN position_percent IS NOT NULL THEN side = 'sell' AND quote_amount IS NULL AND quote_percent IS NULL
             WHEN quote_percent IS NOT NULL THEN amount IS NULL AND side = 'buy'
             ELSE (amount IS NULL) <> (quote_amount IS NULL) END
      )`);
    // Only a target order learns its side when executed.
    await q.query(`ALTER TABLE orders ADD CONSTRAINT orders_side_known CHECK (side IS NOT NULL OR target_position IS NOT NULL)`);

    // One queue per credential: paper and live apart (a user has one live credential at a time).
    await q.query(
      `CREATE INDEX orders_queue_heads_by_mode_idx ON orders (user_id, mode, created_at, id) INCLUDE (next_attempt_at) WHERE status IN ('pending', 'submitting')`,
    );
    await q.query(`DROP INDEX orders_queue_heads_idx`);
    // The bot's unfilled sells that still hold part of its position.
    await q.query(`CREATE INDEX orders_bot_open_idx ON orders (bot_id) WHERE status = 'open'`);
    // Unresolved orders per credential (the purge of retired keys).
    await q.query(`CREATE INDEX orders_credential_unresolved_idx ON orders (credential_id) WHERE status IN ('pending', 'submitting', 'open')`);

    await q.query(`
      CREATE TABLE bot_positions (
        bot_id uuid PRIMARY KEY,
        amount numeric(36,18) NOT NULL DEFAULT 0,
        cost numeric(36,18) NOT NULL DEFAULT 0,
        last_target_signal_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Base bought (less fees paid in base) minus base sold; cost basis at the average buy price.
    await q.query(`
      INSERT INTO bot_positions (bot_id, amount, cost)
      SELECT bot_id, greatest(net, 0), CASE WHEN bought > 0 THEN greatest(net, 0) * spent / bought ELSE 0 END
        FROM (SELECT bot_id,
                     sum(CASE WHEN side = 'buy' THEN filled - CASE WHEN fee_currency = split_part(symbol, '/', 1) THEN coalesce(fee, 0) ELSE 0 END
                              ELSE -filled END) AS net,
                     sum(CASE WHEN side = 'buy' THEN filled ELSE 0 END) AS bought,
                     sum(CASE WHEN side = 'buy' THEN coalesce(cost, 0) ELSE 0 END) AS spent
                FROM orders WHERE bot_id IS NOT NULL AND filled > 0 GROUP BY bot_id) t`);

    await q.query(`ALTER TABLE exchange_credentials ADD COLUMN retired_at timestamptz`);
    await q.query(`DROP INDEX exchange_credentials_user_key`);
    await q.query(`CREATE UNIQUE INDEX exchange_credentials_current_key ON exchange_credentials (user_id) WHERE retired_at IS NULL`);
    await q.query(`CREATE INDEX exchange_credentials_retired_idx ON exchange_credentials (retired_at) WHERE retired_at IS NOT NULL`);

    await q.query(`ALTER TABLE bots ADD COLUMN allow_selling_beyond_position boolean NOT NULL DEFAULT false`);

    // The paper ticker (the user's last fill on a symbol) read from the index alone.
    await q.query(
      `CREATE INDEX paper_orders_last_fill_idx ON paper_orders (user_id, symbol, updated_at DESC) INCLUDE (average) WHERE status = 'closed' AND average IS NOT NULL`,
    );
  }

  // Fails (and changes nothing) while an order exists that only the new columns size, or two credentials of one user.
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX paper_orders_last_fill_idx`);
    await q.query(`ALTER TABLE bots DROP COLUMN allow_selling_beyond_position`);
    await q.query(`DELETE FROM exchange_credentials WHERE retired_at IS NOT NULL`);
    await q.query(`DROP INDEX exchange_credentials_retired_idx`);
    await q.query(`DROP INDEX exchange_credentials_current_key`);
    await q.query(`CREATE UNIQUE INDEX exchange_credentials_user_key ON exchange_credentials (user_id)`);
    await q.query(`ALTER TABLE exchange_credentials DROP COLUMN retired_at`);
    await q.query(`DROP TABLE bot_positions`);
    await q.query(`DROP INDEX orders_credential_unresolved_idx`);
    await q.query(`DROP INDEX orders_bot_open_idx`);
    await q.query(
      `CREATE INDEX orders_queue_heads_idx ON orders (user_id, created_at, id) INCLUDE (next_attempt_at) WHERE status IN ('pending', 'submitting')`,
    );
    await q.query(`DROP INDEX orders_queue_heads_by_mode_idx`);
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_side_known`);
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_one_sizing`);
    await q.query(`
      ALTER TABLE orders ADD CONSTRAINT orders_one_sizing CHECK (
        CASE WHEN quote_percent IS NULL THEN (amount IS NULL) <> (quote_amount IS NULL)
             ELSE amount IS NULL AND side = 'buy' END
      )`);
    await q.query(`
      ALTER TABLE orders ALTER COLUMN side SET NOT NULL,
        DROP COLUMN signal_at, DROP COLUMN target_position, DROP COLUMN position_percent,
        DROP COLUMN credential_id, DROP COLUMN sent_at`);
  }
}
