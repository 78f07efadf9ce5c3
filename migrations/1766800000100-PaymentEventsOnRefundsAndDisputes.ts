import { MigrationInterface, QueryRunner } from 'typeorm';

const body = (changed: string): string => `
      CREATE OR REPLACE FUNCTION user_events_payments() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'payment.updated', n.id, jsonb_build_object('status', n.status) FROM new_rows n WHERE n.user_id IS NOT NULL;
        ELSE
          INSERT INTO user_events (user_id, type, entity_id, data)
          SELECT n.user_id, 'payment.updated', n.id,
                 jsonb_build_object('status', n.status, 'previous_status', o.status, 'failure_reason', n.failure_reason)
            FROM new_rows n JOIN old_rows o ON o.id = n.id
           WHERE n.user_id IS NOT NULL AND ${changed};
        END IF;
        IF FOUND THEN PERFORM pg_notify('torgovo_user_events', ''); END IF;
        RETURN NULL;
      END
      $$`;

/** payment.updated also when more money is returned or the dispute changes (fields of the REST payment). */
export class PaymentEventsOnRefundsAndDisputes1766800000100 implements MigrationInterface {
  name = 'PaymentEventsOnRefundsAndDisputes1766800000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(body(`(n.status, n.refunded_at, n.refunded_amount, n.dispute_status) IS DISTINCT FROM (o.status, o.refunded_at, o.refunded_amount, o.dispute_status)`));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(body(`(n.status, n.refunded_at) IS DISTINCT FROM (o.status, o.refunded_at)`));
  }
}
