import type { KeyPermissions } from '@torgovo/core';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Every secret column holds SecretBox output (`v1:<kid>:…`); plaintext never touches the table. */
@Entity({ name: 'exchange_credentials' })
export class ExchangeCredential {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'varchar', length: 32 })
  exchange: string;

  @Column({ type: 'text', select: false })
  api_key_enc: string;

  @Column({ type: 'text', select: false })
  secret_enc: string;

  @Column({ type: 'text', nullable: true, select: false })
  passphrase_enc: string | null;

  @Column({ type: 'varchar', length: 16 })
  key_id: string;

  /** Last four characters of the API key, so a user can tell which key is connected. */
  @Column({ type: 'varchar', length: 8 })
  api_key_hint: string;

  @Column({ type: 'boolean', default: false })
  sandbox: boolean;

  /** What the key may do and its IP binding, as the exchange said at connect; null: stored before this was read. */
  @Column({ type: 'jsonb', nullable: true })
  permissions: KeyPermissions | null;

  @Column({ type: 'timestamptz', nullable: true })
  permissions_checked_at: Date | null;

  /**
   * Replaced or disconnected: no longer used to send anything, kept only so orders sent with these
   * keys can still be looked up; purged once none is unresolved. Null: the user's current keys.
   */
  @Column({ type: 'timestamptz', nullable: true })
  retired_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
