import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@torgovo/core';
import { UserAccessService, UsersService } from '@torgovo/users';
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
  migrate
      Apply pending migrations and exit (they also run at every start).`;

const COMMANDS = ['create-admin', 'deactivate-user', 'activate-user', 'migrate'];

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
  const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, password: { type: 'string' } }, strict: true });
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
