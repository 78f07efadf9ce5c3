import type { DataSource } from 'typeorm';
import { cappedList, CappedPage, PageQuery, SqlFilter } from '@torgovo/core';
import { PaymentResponse, toPaymentResponse } from './dto/payment-response';
import type { Payment, PaymentKind, PaymentProvider, PaymentStatus } from './entities/payment.entity';

/** Every user's payments (the admin list); each filter is optional. */
export interface AllPaymentsFilter {
  user_id?: string;
  status?: PaymentStatus;
  provider?: PaymentProvider;
  kind?: PaymentKind;
  /** Plan code. */
  plan?: string;
  from?: Date;
  to?: Date;
}

type Row = Payment & { plan_code: string | null; plan_name: string | null; plan_type: string | null };

/** Newest first (payments_created_idx, payments_user_idx), mapped as the user's own history maps them. */
export async function listAllPayments(ds: DataSource, f: AllPaymentsFilter, q: PageQuery): Promise<CappedPage<PaymentResponse>> {
  const filter = new SqlFilter()
    .add(f.user_id, (p) => `p.user_id = ${p}`)
    .add(f.status, (p) => `p.status = ${p}`)
    .add(f.provider, (p) => `p.provider = ${p}`)
    .add(f.kind, (p) => `p.kind = ${p}`)
    .add(f.plan, (p) => `pl.code = ${p}`)
    .add(f.from, (p) => `p.created_at >= ${p}`)
    .add(f.to, (p) => `p.created_at < ${p}`);
  const page = await cappedList<Row>(
    ds,
    {
      select: 'p.*, pl.code AS plan_code, pl.name AS plan_name, pl.plan_type AS plan_type',
      from: 'payments p LEFT JOIN subscription_plans pl ON pl.id = p.plan_id',
      filter,
      orderBy: 'p.created_at DESC, p.id DESC',
    },
    q,
  );
  return {
    ...page,
    items: page.items.map((r) =>
      toPaymentResponse(r, r.plan_id && r.plan_code !== null ? { id: r.plan_id, code: r.plan_code, name: r.plan_name ?? '', plan_type: r.plan_type ?? '' } : null),
    ),
  };
}
