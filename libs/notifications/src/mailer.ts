import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Transporter } from 'nodemailer';
import { MailConfig } from './mail-config';

const SMTP_TIMEOUT_MS = 15_000;

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
}

/**
 * nodemailer over SMTP_URL; without it a JSON transport: the message is built as it would be
 * sent and written to the log instead (DESIGN "e-mails are logged, not sent").
 * nodemailer is loaded with the first e-mail: only the worker's EmailDispatcher sends, and the api,
 * which builds this provider too, never does (~1.6 MB of heap it kept for nothing).
 */
@Injectable()
export class Mailer implements OnModuleDestroy {
  private readonly logger = new Logger(Mailer.name);
  private transport?: Transporter;
  readonly smtp: boolean;

  constructor(@Inject(MailConfig) private readonly config: MailConfig) {
    this.smtp = Boolean(config.SMTP_URL);
  }

  async send(mail: OutgoingEmail): Promise<string> {
    const info = (await this.transporter().sendMail({ from: this.config.MAIL_FROM, ...mail })) as { messageId: string };
    if (!this.smtp) this.logger.log({ to: mail.to, subject: mail.subject, text: mail.text }, 'E-mail (log transport, not sent)');
    return info.messageId;
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }

  private transporter(): Transporter {
    if (!this.transport) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the first e-mail, see above
      const { createTransport } = require('nodemailer') as typeof import('nodemailer');
      // Bounded waits (nodemailer's defaults are 2 min to connect and 10 min of socket silence): a
      // stalled mail server fails the send, which the outbox retries with backoff.
      this.transport = this.config.SMTP_URL
        ? createTransport({ url: this.config.SMTP_URL, connectionTimeout: SMTP_TIMEOUT_MS, greetingTimeout: SMTP_TIMEOUT_MS, socketTimeout: SMTP_TIMEOUT_MS })
        : createTransport({ jsonTransport: true });
    }
    return this.transport;
  }
}
