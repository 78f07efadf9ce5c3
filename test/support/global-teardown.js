// Drop what this run created (clones are dropped by their files; the template is shared).
const { Client } = require('pg');

module.exports = async function globalTeardown() {
  const run = process.env.TORGOVO_TEST_RUN;
  if (!run) return;
  const client = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`torgovo\\_%\\_${run}%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
};
