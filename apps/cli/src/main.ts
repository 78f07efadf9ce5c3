import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ConfigError, SecretBox, withAdvisoryLock } from '@torgovo/core';
import { CredentialResealService, OldKeyCensus, SECRET_RESEAL_LOCK_KEY, UserAccessService, UsersService } from '@torgovo/users';
import { CliModule } from './cli.module';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-admin --email <email> [--password <password>]
      Create an admin, or promote an existing account. The password may instead come
      from the ADMIN_PASSWORD environment variable (keeps it out of shell history).
  deactivate-user --email <email>
      Deactivate an account: it can no longer log in, its refresh tokens are revoked and
      its running bots stop (stop_reason user_deactivated), its managed-bot follows end.
  activate-user --email <email>
      Reactivate an account (its bots stay stopped until the user starts them; its follows
      stay ended until the user follows again).
  reseal-secrets [--count]
      After an ENCRYPTION_KEY rotation: re-seal every stored exchange secret still under a key
      of ENCRYPTION_KEYS_OLD with the current ENCRYPTION_KEY (the worker also does it on a
      schedule), then print how many rows remain under old keys. Run it with the same
      ENCRYPTION_KEY and ENCRYPTION_KEYS_OLD as the api and worker. --count only counts.
      Exit code 0: no row is left under an old key (the old keys can be removed); 2: some are.
  migrate
      Apply pending migrations and exit (they also run at every start).`;

const COMMANDS = ['create-admin', 'deactivate-user', 'activate-user', 'reseal-secrets', 'migrate'];

/** What remains, for the operator deciding whether an old key may be removed. */
function printRemaining(census: OldKeyCensus): number {
  console.log(`Rows under old keys: ${census.rows_under_old_keys}.`);
  if (census.rows_under_unknown_keys > 0) {
    console.log(
      `${census.rows_under_unknown_keys} of them are under keys this configuration does not know (key ids ${census.unknown_key_ids.join(', ')}): ` +
        'add those keys to ENCRYPTION_KEYS_OLD (or those rows cannot be opened by anyone).',
    );
  }
  if (census.rows_under_old_keys === 0) console.log('No stored secret needs an old key: the keys in ENCRYPTION_KEYS_OLD can be removed.');
  return census.rows_under_old_keys === 0 ? 0 : 2;
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (!COMMANDS.includes(command)) {
    console.error(`Unknown command '${command}'.\n\n${USAGE}`);
    return 1;
  }
  const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, password: { type: 'string' }, count: { type: 'boolean' } }, strict: true });
  if (command === 'create-admin') {
    const password = values.password ?? process.env.ADMIN_PASSWORD;
    if (!values.email || !password) {
      console.error('create-admin needs --email and a password (--password or ADMIN_PASSWORD).');
      return 1;
    }
    if (password.length < 8) {
      console.error('The password must be at least 8 characters.');
      return 1;
    }
    // The CLI must not bootstrap the env admin again; it is given explicitly here.
    const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'], abortOnError: false });
    try {
      const { id, created } = await app.get(UsersService).ensureAdmin(values.email, password, 'cli');
      console.log(
        created
          ? `Admin created: ${values.email} (${id})`
          : `Existing account is now an admin: ${values.email} (${id}); its own password is kept (the one given is not used)`,
      );
    } finally {
      await app.close();
    }
    return 0;
  }
  if (command === 'deactivate-user' || command === 'activate-user') {
    if (!values.email) {
      console.error(`${command} needs --email.`);
      return 1;
    }
    const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'], abortOnError: false });
    try {
      const users = app.get(UsersService);
      const user = await users.getByEmail(values.email);
      const active = command === 'activate-user';
      const changed = await app.get(UserAccessService).change(user.id, { is_active: active }, { actorId: null, source: 'cli' });
      console.log(`${values.email} (${user.id}) is ${active ? 'active' : 'deactivated'}${changed ? '' : ' (it already was)'}.`);
    } finally {
      await app.close();
    }
    return 0;
  }
  if (command === 'reseal-secrets') {
    const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'], abortOnError: false });
    try {
      const reseal = app.get(CredentialResealService);
      if (values.count) return printRemaining(await reseal.census());
      // The worker's job takes the same lock: one re-seal at a time (their guarded writes would be safe anyway).
      const outcome = await withAdvisoryLock(app.get(DataSource), SECRET_RESEAL_LOCK_KEY, () => reseal.run());
      if (!outcome.ran) {
        console.log('A re-seal is running in a worker right now; run this again when it has finished.');
        printRemaining(await reseal.census());
        return 1;
      }
      const run = outcome.result;
      console.log(
        `Re-sealed ${run.resealed} stored exchange credentials under the current key (${app.get(SecretBox).currentKeyId}); ` +
          `${run.skipped} changed meanwhile and were re-read, ${run.failed} could not be opened (logged by id).`,
      );
      return printRemaining(run.remaining);
    } finally {
      await app.close();
    }
  }
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn', 'log'], abortOnError: false });
  await app.close();
  console.log('Migrations are up to date.');
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
