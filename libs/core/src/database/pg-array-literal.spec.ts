import { pgArrayLiteral } from './pg-array-literal';

// node-postgres's own serialization of a parameter (no published types for its lib/utils).
const { prepareValue } = jest.requireActual<{ prepareValue: (value: unknown) => unknown }>('pg/lib/utils');

describe('pgArrayLiteral', () => {
  it('is the text node-postgres sends for strings, numbers, booleans and nulls', () => {
    const values = ['6f1c2e4a-1b2c-4d5e-8f90-123456789abc', 'BTC/USDT', '0.0001', '', 'NULL', 'a"b', 'back\\slash', '{x,y}', 'ünï', null, undefined, 202, 0, true, false];
    expect(pgArrayLiteral(values)).toBe(prepareValue(values));
    expect(pgArrayLiteral([])).toBe('{}');
  });

  it('writes a Date as its ISO instant', () => {
    expect(pgArrayLiteral([new Date(Date.UTC(2026, 10, 25, 23, 0, 0, 5)), null])).toBe('{"2026-11-25T23:00:00.005Z",NULL}');
  });

  it('refuses what it cannot write rather than guessing', () => {
    expect(() => pgArrayLiteral([{ a: 1 }])).toThrow(TypeError);
    expect(() => pgArrayLiteral([['nested']])).toThrow(TypeError);
  });
});
