import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One row per provider event received: the unique (provider, event_id) makes a redelivery a no-op. */
@Entity({ name: 'processed_events' })
export class ProcessedEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 16 })
  provider: string;

  @Column({ type: 'varchar', length: 255 })
  event_id: string;

  @Column({ type: 'varchar', length: 100 })
  type: string;

  @Column({ type: 'timestamptz', nullable: true })
  event_created_at: Date | null;

  @Column({ type: 'timestamptz' })
  received_at: Date;

  /** What the event did: applied, duplicate is never stored, unknown_customer, stale, ignored, … */
  @Column({ type: 'varchar', length: 40 })
  outcome: string;

  @Column({ type: 'uuid', nullable: true })
  user_id: string | null;
}
