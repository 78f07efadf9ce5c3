import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import { MailConfig } from './mail-config';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
}

/**
 * nodemailer over SMTP_URL; without it a JSON transport: the message is built as it would be
 * sent and written to the log instead (DESIGN "e-mails are logged, not sent").
 */
@Injectable()
export class Mailer implements OnModuleDestroy {
  private readonly logger = new Logger(Mailer.name);
  private readonly transport: Transporter;
  readonly smtp: boolean;

  constructor(@Inject(MailConfig) private readonly config: MailConfig) {
    this.smtp = Boolean(config.SMTP_URL);
    this.transport = config.SMTP_URL ? createTransport(config.SMTP_URL) : createTransport({ jsonTransport: true });
  }

  async send(mail: OutgoingEmail): Promise<string> {
    const info = (await this.transport.sendMail({ from: this.config.MAIL_FROM, ...mail })) as { messageId: string };
    if (!this.smtp) this.logger.log({ to: mail.to, subject: mail.subject, text: mail.text }, 'E-mail (log transport, not sent)');
    return info.messageId;
  }

  onModuleDestroy(): void {
    this.transport.close();
  }
}
