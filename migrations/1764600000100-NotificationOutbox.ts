import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * E-mails to send, written in the transaction of the event they tell about (a payment
 * confirmed, a renewal requested…), sent afterwards by the EmailDispatcher job. dedupe_key makes
 * a repeated event one e-mail; next_attempt_at is both the job's lease and the retry backoff.
 */
export class NotificationOutbox1764600000100 implements MigrationInterface {
  name = 'NotificationOutbox1764600000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        channel varchar(16) NOT NULL DEFAULT 'email',
        kind varchar(40) NOT NULL,
        dedupe_key varchar(200) NOT NULL,
        data jsonb NOT NULL DEFAULT '{}',
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX notification_outbox_dedupe_key ON notification_outbox (channel, dedupe_key)`);
    await q.query(`CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX notification_outbox_user_idx ON notification_outbox (user_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_outbox`);
  }
}
