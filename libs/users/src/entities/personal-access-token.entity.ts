import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type TokenScope = 'read' | 'trade';

@Entity({ name: 'personal_access_tokens' })
export class PersonalAccessToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  scope: TokenScope;

  /** sha256 of the token; the token itself is shown once and never stored. */
  @Column({ type: 'char', length: 64, select: false })
  token_hash: string;

  /** The token's last 4 characters, so a user can tell their tokens apart. */
  @Column({ type: 'varchar', length: 8 })
  token_hint: string;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  last_used_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revoked_at: Date | null;
}
