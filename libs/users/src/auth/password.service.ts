import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';

/** argon2id with the library's defaults (m=64 MiB, t=3, p=4): OWASP-grade and ~50 ms here. */
@Injectable()
export class PasswordService {
  // A fixed hash to verify against when the email is unknown, so timing does not reveal accounts.
  private dummy?: Promise<string>;

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    if (!hash) {
      this.dummy ??= argon2.hash('dummy-password-for-timing', { type: argon2.argon2id });
      await argon2.verify(await this.dummy, password).catch(() => false);
      return false;
    }
    return argon2.verify(hash, password).catch(() => false);
  }
}
