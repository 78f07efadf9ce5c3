import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CreatePlanDto, UpdatePlanDto } from './plan.dto';

const base = { code: 'pro_plus', plan_type: 'custom_bot', name: 'Pro Plus', monthly_price: '49.00', yearly_price: '490' };
const errorsOf = <T extends object>(cls: new () => T, body: object): string[] =>
  validateSync(plainToInstance(cls, body), { whitelist: true, forbidNonWhitelisted: true }).map((e) => e.property);

describe('plan DTOs', () => {
  it('accepts decimal-string prices with at most 2 decimals up to 99,999,999.99', () => {
    for (const p of ['0', '0.5', '29.00', '99999999.99']) expect(errorsOf(CreatePlanDto, { ...base, monthly_price: p })).toEqual([]);
  });

  it('rejects numbers, negatives, exponents, extra decimals, leading zeros and overflow', () => {
    for (const p of [29, '-1', '1e3', '1.234', '007', '100000000', ' 1', '']) {
      expect(errorsOf(CreatePlanDto, { ...base, monthly_price: p })).toEqual(['monthly_price']);
    }
  });

  it('percentages are 0..100 with up to 4 decimals', () => {
    for (const p of ['0', '20', '12.5', '100', '100.0000']) expect(errorsOf(CreatePlanDto, { ...base, profit_share_percentage: p })).toEqual([]);
    for (const p of ['100.01', '101', '-1', 20]) expect(errorsOf(CreatePlanDto, { ...base, profit_share_percentage: p })).toEqual(['profit_share_percentage']);
  });

  it('limits may be null (unlimited) but not negative or fractional', () => {
    expect(errorsOf(CreatePlanDto, { ...base, max_bots: null, max_trading_pairs: null })).toEqual([]);
    expect(errorsOf(CreatePlanDto, { ...base, max_bots: -1, max_trading_pairs: 1.5 }).sort()).toEqual(['max_bots', 'max_trading_pairs']);
  });

  it('update cannot change code or plan_type, and every field is optional', () => {
    expect(errorsOf(UpdatePlanDto, {})).toEqual([]);
    expect(errorsOf(UpdatePlanDto, { code: 'x', plan_type: 'managed_bot' }).sort()).toEqual(['code', 'plan_type']);
    expect(errorsOf(UpdatePlanDto, { monthly_price: '1.999' })).toEqual(['monthly_price']);
  });
});
