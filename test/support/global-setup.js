// Runs once per `jest` run, before any test file: drop the migrated template and any
// databases a crashed earlier run left, so the first test file re-creates the template
// from the current migrations.
const { Client } = require('pg');

module.exports = async function globalSetup() {
  const client = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT datname FROM pg_database WHERE datname LIKE 'torgovo\\_t\\_%' OR datname = 'torgovo_template'",
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
};
