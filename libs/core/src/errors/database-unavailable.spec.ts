import { isDatabaseUnavailable } from './database-unavailable';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['pg_terminate_backend (57P01)', { code: '57P01', message: 'terminating connection due to administrator command' }],
    ['TypeORM QueryFailedError wrapping it', { message: 'x', driverError: { code: '57P01' } }],
    ['a connection exception (08006)', { code: '08006', message: 'connection failure' }],
    ['node-postgres losing the socket', new Error('Connection terminated unexpectedly')],
    ['the socket reset under a prepared statement (chaos run)', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' })],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['the transaction\'s next statement after its connection died', Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), { name: 'QueryRunnerAlreadyReleasedError' })],
    ['TypeORM on the released runner', new Error('Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore.')],
  ])('%s → true', (_, error) => expect(isDatabaseUnavailable(error)).toBe(true));

  it.each([
    ['a unique violation', { code: '23505', message: 'duplicate key' }],
    ['a syntax error', { code: '42601', message: 'syntax error' }],
    ['a bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('%s → false', (_, error) => expect(isDatabaseUnavailable(error)).toBe(false));
});
