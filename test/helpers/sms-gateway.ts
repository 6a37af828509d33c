// A real HTTP server standing in for an SMS gateway: it keeps every JSON message vakt posts and
// answers with the status a test sets (500 to make delivery fail), after a delay a test sets (a
// gateway as slow as a real one across the internet).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsMessage {
  to: string;
  text: string;
  tenant: string;
  purpose: string;
}

export interface SmsGateway {
  url: string;
  messages: SmsMessage[];
  /** The status every request gets; 200 unless a test changes it. */
  status: number;
  /** How long each request waits before its answer; 0 unless a test changes it. */
  delayMs: number;
  last(to: string): SmsMessage | undefined;
  code(to: string): string;
  close(): Promise<void>;
}

export async function startSmsGateway(): Promise<SmsGateway> {
  const gateway: SmsGateway = {
    url: '',
    messages: [],
    status: 200,
    delayMs: 0,
    last: (to) => gateway.messages.filter((m) => m.to === to).at(-1),
    code(to) {
      const match = /\b(\d{6})\b/.exec(gateway.last(to)?.text ?? '');
      if (!match) throw new Error(`no code sent to ${to}; gateway holds ${gateway.messages.length} messages`);
      return match[1]!;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      setTimeout(() => {
        if (gateway.status >= 200 && gateway.status < 300) {
          try {
            gateway.messages.push(JSON.parse(body) as SmsMessage);
          } catch {
            response.writeHead(400).end();
            return;
          }
        }
        response.writeHead(gateway.status, { 'content-type': 'application/json' }).end('{}');
      }, gateway.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  return gateway;
}
