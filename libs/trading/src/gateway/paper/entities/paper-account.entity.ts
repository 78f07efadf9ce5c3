import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'paper_accounts' })
export class PaperAccount {
  @PrimaryColumn({ type: 'uuid' })
  user_id: string;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
