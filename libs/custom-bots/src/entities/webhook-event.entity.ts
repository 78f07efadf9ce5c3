import { Column, Entity, PrimaryColumn } from 'typeorm';

export type WebhookOutcome = 'accepted' | 'duplicate' | 'rejected';

/** One row per request to the receive endpoint, whatever happened to it. */
@Entity({ name: 'webhook_events' })
export class WebhookEvent {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** null when the secret matched no webhook (or the request was refused before the lookup). */
  @Column({ type: 'uuid', nullable: true })
  webhook_id: string | null;

  @Column({ type: 'uuid', nullable: true })
  bot_id: string | null;

  @Column({ type: 'timestamptz' })
  received_at: Date;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome: WebhookOutcome;

  @Column({ type: 'smallint' })
  status_code: number;

  /** The error code for a rejection ('stale_signal', 'secret_mismatch', ...). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  reason: string | null;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ type: 'uuid', nullable: true })
  order_id: string | null;

  /** The first 10 KB of the body, secrets masked. */
  @Column({ type: 'text', nullable: true })
  body: string | null;

  @Column({ type: 'int', nullable: true })
  body_bytes: number | null;
}
