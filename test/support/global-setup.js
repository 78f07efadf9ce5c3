// Runs once per `jest` run, before any test file. Each run gets its own id, so runs by
// other sessions on the same PostgreSQL never touch each other's databases: this run's
// template and clones are named after it. Databases of runs older than 6 hours (crashed
// runs) are dropped.
const { randomBytes } = require('node:crypto');
const { Client } = require('pg');
const net = require('node:net');

const STALE_SECONDS = 6 * 3600;

module.exports = async function globalSetup() {
  const now = Math.floor(Date.now() / 1000);
  process.env.TORGOVO_TEST_RUN = `${now.toString(36)}${randomBytes(3).toString('hex')}`;
  process.env.TORGOVO_TEST_REDIS = (await redisAnswers(process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/15')) ? '1' : '0';
  if (process.env.TORGOVO_TEST_REDIS === '0') {
    // CI starts Redis (.ci/run), so there its absence fails the Redis test instead of skipping it.
    if (process.env.CI === 'true') process.env.TORGOVO_TEST_REDIS = '1';
    else console.warn('\nRedis is not answering at 127.0.0.1:6379 (TEST_REDIS_URL): the shared rate-limit test is SKIPPED. Start redis-server to run it.\n');
  }
  const client = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname ~ '^torgovo_(t|tpl)_[0-9a-z]+'");
    for (const { datname } of rows) {
      const run = datname.split('_')[2] ?? '';
      // Only names this harness made: 6 base-36 chars of a plausible start time, then 6 hex.
      // Anything else (a benchmark's database, say) is not ours to drop.
      if (!/^[0-9a-z]{6}[0-9a-f]{6}$/.test(run)) continue;
      const started = parseInt(run.slice(0, 6), 36);
      if (started < 1_700_000_000 || started > now + 86_400) continue;
      if (now - started > STALE_SECONDS) {
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    }
  } finally {
    await client.end();
  }
};

/** True when a Redis server answers PING at `url` within a second. */
function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) || 6379 });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
