import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { OrderSide, OrderStatus, OrderType } from '../../exchange-gateway';

@Entity({ name: 'paper_orders' })
export class PaperOrder {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  user_id: string;

  @Column({ type: 'varchar', length: 32 })
  client_order_id: string;

  @Column({ type: 'varchar', length: 32 })
  symbol: string;

  @Column({ type: 'varchar', length: 4 })
  side: OrderSide;

  @Column({ type: 'varchar', length: 8 })
  type: OrderType;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  amount: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  price: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  filled: string;

  @Column({ type: 'numeric', precision: 36, scale: 18, nullable: true })
  average: string | null;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  cost: string;

  @Column({ type: 'numeric', precision: 36, scale: 18 })
  fee: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  fee_currency: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: OrderStatus;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
