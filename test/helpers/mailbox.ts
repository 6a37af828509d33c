// A real SMTP server for tests (smtp-server on a free port): it keeps every message it accepts,
// parsed with mailparser, and can be told to refuse. A message is stored before the server
// answers 250, so once vakt's request returns, the message is here: no polling.
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  parsed: ParsedMail;
}

export interface Mailbox {
  url: string;
  messages: ReceivedMail[];
  /** The newest message to `address`. */
  last(address: string): ReceivedMail | undefined;
  /** The 6-digit code in the newest message to `address`. */
  code(address: string): string;
  /** While true, every recipient is refused with 550. */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const box: Mailbox = {
    url: '',
    messages: [],
    refusing: false,
    last: (address) => box.messages.filter((m) => m.to.includes(address.toLowerCase())).at(-1),
    code(address) {
      const mail = box.last(address);
      const match = mail && /\b(\d{6})\b/.exec(mail.text);
      if (!match)
        throw new Error(`no code sent to ${address}; mailbox holds ${box.messages.length} messages`);
      return match[1]!;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (box.refusing) {
        const error = new Error('mailbox unavailable') as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          box.messages.push({
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            parsed,
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  box.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return box;
}
