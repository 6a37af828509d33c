// Email over SMTP with nodemailer: one transport per distinct SMTP URL (tenants may have their
// own server), and every send bounded by the delivery timeout so a hung server fails the code
// instead of the page that is waiting for it.
import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import type { ComposedEmail } from './messages.js';
import type { EmailRoute } from './routing.js';
import type { DeliveryResult } from './types.js';

export interface EmailSender {
  send(route: EmailRoute, to: string, email: ComposedEmail): Promise<DeliveryResult>;
  /** Closes the cached transports (and any connections they hold). */
  close(): void;
}

// Loaded at the first email, not at start: a server that sends none (SMS only, or idle) does
// not hold it in memory.
const require = createRequire(import.meta.url);
const loadNodemailer = () => require('nodemailer') as typeof import('nodemailer');

export function createEmailSender(options: { timeoutMs: number }): EmailSender {
  const { timeoutMs } = options;
  // Keyed by the whole URL: two tenants with the same server share one transport.
  const transports = new Map<string, Transporter>();

  function transportFor(smtpUrl: string): Transporter {
    let transport = transports.get(smtpUrl);
    if (!transport) {
      // The URL gives host, port, TLS and credentials; the timeouts apply where it says nothing.
      transport = loadNodemailer().createTransport({
        url: smtpUrl,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      transports.set(smtpUrl, transport);
    }
    return transport;
  }

  return {
    async send(route, to, email) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<DeliveryResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, reason: `SMTP server did not answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      const sending = transportFor(route.smtpUrl)
        .sendMail({
          from: route.from,
          to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          // RFC 3834: no out-of-office answers to a machine.
          headers: { 'Auto-Submitted': 'auto-generated' },
        })
        .then(
          (info): DeliveryResult =>
            (info.accepted as unknown[]).length > 0
              ? { ok: true }
              : { ok: false, reason: `SMTP server did not accept the recipient: ${String(info.response)}` },
          (error: Error): DeliveryResult => ({ ok: false, reason: `SMTP: ${error.message}` }),
        );
      try {
        return await Promise.race([sending, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      for (const transport of transports.values()) transport.close();
      transports.clear();
    },
  };
}
