import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';

/** E-mail: SMTP_URL unset = e-mails are written to the log, not sent. */
export class MailConfig {
  /** smtp://user:pass@host:587 or smtps://…:465 */
  @IsOptional() @Matches(/^smtps?:\/\//, { message: 'SMTP_URL must start with smtp:// or smtps://' })
  SMTP_URL?: string;

  @IsString()
  MAIL_FROM = 'Torgovo <no-reply@torgovo.local>';

  /** EmailDispatcher period; 0 disables the timer (tests drive it by hand). */
  @Transform(envInt) @IsInt() @Min(0) @Max(3600)
  EMAIL_DISPATCH_INTERVAL_SECONDS = 15;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): MailConfig {
    return loadEnvSection(MailConfig, env);
  }
}
