// Delivery of one-time codes (src/delivery) against a real SMTP server (smtp-server, parsed with
// mailparser) and a real HTTP server as the SMS gateway; no mocks. Pins: the email arrives with
// From/To/subject and a text and an HTML body in the person's language, naming the tenant (HTML-
// escaped) with the code on its own line; a refusing SMTP server, a non-2xx gateway, a network
// error and a silent gateway are failures, never exceptions, and the code is not logged; the
// gateway gets the exact JSON with the WebOTP line; the next gateway is tried after a failure;
// a tenant's own settings win over the deployment's; `channels()` and `deliveryProblems()`
// answer from the same routing; development's outbox keeps the newest 200 messages, prints the
// code, and /dev/outbox and /dev/outbox.json serve them. A decoy (ASVS 6.3.8) hands nothing
// over, fails where a real send would, and waits as long as a recent real send on its route.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { type ParsedMail, simpleParser } from 'mailparser';
import { pino } from 'pino';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ConfigError } from '../src/config/errors.js';
import { tenantSchema } from '../src/config/schema.js';
import type { Settings } from '../src/config/settings.js';
import { loadSettings } from '../src/config/settings.js';
import { createOutbox, OUTBOX_LIMIT, type OutboxMessage } from '../src/delivery/outbox.js';
import { registerOutboxRoutes } from '../src/delivery/outbox-page.js';
import { deliveryProblems } from '../src/delivery/routing.js';
import { createDeliveryService, type Delivery, type DeliveryDeps } from '../src/delivery/service.js';
import {
  createSendTimes,
  FAILURE_BELIEVED_MS,
  FIRST_DECOY_MS,
  SEND_TIMES_KEPT,
} from '../src/delivery/timing.js';
import type { CodeMessage } from '../src/delivery/types.js';
import { createManualClock } from '../src/domain/clock.js';
import type { TenantSettings } from '../src/domain/tenants.js';
import { en } from '../src/ui/messages/en.js';
import { nb } from '../src/ui/messages/nb.js';
import { sv } from '../src/ui/messages/sv.js';
import { startSmsGateway } from './helpers/sms-gateway.js';

const PUBLIC_URL = 'https://id.example.com';
const FROM = '"Acme ID" <id@acme.example>';

function tenant(overrides: Record<string, unknown> = {}): TenantSettings {
  const { clients: _clients, ...settings } = tenantSchema.parse({
    slug: 'acme',
    displayName: 'Acme & <Co>',
    ...overrides,
  });
  return settings;
}

type DeliverySettings = DeliveryDeps['settings'];

function settings(overrides: Partial<DeliverySettings> = {}): DeliverySettings {
  return {
    mode: 'production',
    mailFrom: FROM,
    smsWebhookUrls: [],
    deliveryTimeoutMs: 5000,
    ...overrides,
  };
}

/** A pino logger whose lines the test can read. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}

const services: Delivery[] = [];

function service(deps: Partial<DeliveryDeps> & { settings: DeliverySettings }): Delivery {
  const delivery = createDeliveryService({
    logger: pino({ level: 'silent' }),
    publicUrl: () => PUBLIC_URL,
    env: {},
    ...deps,
  });
  services.push(delivery);
  return delivery;
}

function codeMessage(overrides: Partial<CodeMessage> = {}): CodeMessage {
  return {
    tenant: tenant(),
    channel: 'email',
    to: 'ada@example.com',
    locale: 'nb',
    purpose: 'signup',
    code: '493817',
    ...overrides,
  };
}

/** Fills `{name}` placeholders the way the translator does. */
function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (match, name: string) => vars[name] ?? match);
}

interface Received {
  rcptTo: string[];
  mail: ParsedMail;
}

async function startSmtp(options: Partial<SMTPServerOptions> = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on localhost: no self-signed STARTTLS for nodemailer to trip over.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(resolve)),
  };
}

/** An SMTP error with the reply code smtp-server sends. */
function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

interface GatewayRequest {
  method: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An SMS gateway answering `status`, or never answering when it is 'hang'. */
async function startGateway(status: number | 'hang') {
  const requests: GatewayRequest[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      requests.push({ method: request.method, headers: request.headers, body });
      if (status !== 'hang') response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

after(() => {
  for (const delivery of services) delivery.close();
});

describe('email over SMTP', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  before(async () => {
    smtp = await startSmtp();
  });
  after(() => smtp.close());

  test('arrives with From, To and a Norwegian subject, text and HTML naming the tenant and holding the code', async () => {
    const delivery = service({ settings: settings({ smtpUrl: smtp.url }) });
    const before = smtp.received.length;
    const result = await delivery.sendCode(codeMessage());
    assert.deepEqual(result, { ok: true });
    assert.equal(smtp.received.length, before + 1);
    const { rcptTo, mail } = smtp.received.at(-1)!;
    assert.deepEqual(rcptTo, ['ada@example.com']);
    assert.deepEqual(mail.from?.value, [{ address: 'id@acme.example', name: 'Acme ID' }]);
    assert.equal(Array.isArray(mail.to) ? undefined : mail.to?.value[0]?.address, 'ada@example.com');
    const vars = { code: '493817', tenant: 'Acme & <Co>' };
    assert.equal(mail.subject, fill(nb['mail.code_subject'], vars));
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');

    const text = mail.text ?? '';
    for (const key of [
      'mail.greeting',
      'mail.code_signup',
      'mail.code_validity',
      'mail.code_ignore',
    ] as const) {
      assert.ok(text.includes(fill(nb[key], vars)), `the text has ${key}`);
    }
    assert.ok(text.includes(fill(nb['mail.signature'], vars)), 'the text is signed by the tenant');
    assert.match(text, /^\s*493817\s*$/m, 'the code is on a line of its own');
    assert.ok(!text.includes(fill(nb['mail.code_verify'], vars)), 'signup wording, not verify');

    const html = typeof mail.html === 'string' ? mail.html : '';
    assert.match(html, /<html lang="nb">/);
    assert.ok(html.includes('Acme &amp; &lt;Co&gt;'), 'the tenant name is escaped');
    assert.ok(!html.includes('<Co>'), 'the tenant name cannot open a tag');
    assert.match(html, />\s*493817\s*</, 'the code is an element of its own');
    assert.ok(html.includes('Hei,'), 'the HTML is in Norwegian too');
    assert.doesNotMatch(html, /\b(src|href)=|url\(|@import/i, 'no remote resources');
  });

  test('a verify code in Swedish and one in English use their language and the verify wording', async () => {
    const delivery = service({ settings: settings({ smtpUrl: smtp.url }) });
    for (const [locale, catalogue] of [
      ['sv', sv],
      ['en', en],
    ] as const) {
      const result = await delivery.sendCode(
        codeMessage({ locale, purpose: 'verify', to: `${locale}@example.com` }),
      );
      assert.deepEqual(result, { ok: true });
      const { mail } = smtp.received.at(-1)!;
      const vars = { code: '493817', tenant: 'Acme & <Co>' };
      assert.equal(mail.subject, fill(catalogue['mail.code_subject'], vars));
      assert.ok(mail.text?.includes(fill(catalogue['mail.code_verify'], vars)), `${locale} verify wording`);
      assert.match(String(mail.html), new RegExp(`<html lang="${locale}">`));
    }
  });

  test('a recipient refused with 550 is a failed delivery, logged with the reason and without the code', async () => {
    const refusing = await startSmtp({
      onRcptTo: (_address, _session, callback) => callback(smtpError('No such mailbox', 550)),
    });
    try {
      const log = capturedLogger();
      const delivery = service({ settings: settings({ smtpUrl: refusing.url }), logger: log.logger });
      const result = await delivery.sendCode(codeMessage());
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /550|No such mailbox/);
      assert.equal(refusing.received.length, 0);
      assert.match(log.text(), /code delivery failed/);
      assert.match(log.text(), /No such mailbox/, 'the reason is logged');
      assert.ok(!log.text().includes('493817'), 'the code is not logged');
      assert.ok(!log.text().includes('ada@example.com'), 'the address is masked');
    } finally {
      await refusing.close();
    }
  });

  test('a message refused after DATA is a failed delivery', async () => {
    const refusing = await startSmtp({
      onData(stream, _session, callback) {
        stream.on('end', () => callback(smtpError('Message rejected as spam', 554)));
        stream.resume();
      },
    });
    try {
      const result = await service({ settings: settings({ smtpUrl: refusing.url }) }).sendCode(codeMessage());
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /rejected as spam/);
    } finally {
      await refusing.close();
    }
  });

  test('an SMTP server that is not there is a failed delivery, not an exception', async () => {
    const gone = await startSmtp();
    await gone.close();
    const result = await service({ settings: settings({ smtpUrl: gone.url }) }).sendCode(codeMessage());
    assert.equal(result.ok, false);
  });

  test('an SMTP server that accepts the connection but never greets fails after the delivery timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const delivery = service({
        settings: settings({ smtpUrl: `smtp://127.0.0.1:${port}`, deliveryTimeoutMs: 300 }),
      });
      const result = await delivery.sendCode(codeMessage());
      assert.equal(result.ok, false);
      assert.equal(sockets.size, 1, 'it did connect');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test("the tenant's own SMTP server and sender win over the deployment's; smtpUrlEnv is read from the environment", async () => {
    const own = await startSmtp();
    try {
      const deployment = settings({ smtpUrl: smtp.url });
      const before = smtp.received.length;
      const withUrl = tenant({
        delivery: { email: { smtpUrl: own.url, from: 'Acme <hello@acme.example>' } },
      });
      assert.deepEqual(await service({ settings: deployment }).sendCode(codeMessage({ tenant: withUrl })), {
        ok: true,
      });
      assert.equal(own.received.length, 1);
      assert.equal(own.received[0]!.mail.from?.value[0]?.address, 'hello@acme.example');

      const withEnv = tenant({ delivery: { email: { smtpUrlEnv: 'ACME_SMTP_URL' } } });
      const viaEnv = service({ settings: deployment, env: { ACME_SMTP_URL: own.url } });
      assert.deepEqual(await viaEnv.sendCode(codeMessage({ tenant: withEnv })), { ok: true });
      assert.equal(own.received.length, 2);
      assert.equal(
        own.received[1]!.mail.from?.value[0]?.address,
        'id@acme.example',
        "the deployment's sender",
      );
      assert.equal(smtp.received.length, before, "nothing went through the deployment's server");

      // A named but unset variable is no channel, not a quiet fallback to the deployment's server.
      const unset = service({ settings: deployment, env: {} });
      assert.equal((await unset.sendCode(codeMessage({ tenant: withEnv }))).ok, false);
      assert.equal(smtp.received.length, before);
    } finally {
      await own.close();
    }
  });
});

describe('SMS through the webhook', () => {
  test('the gateway receives the exact JSON: E.164 number, localised text with the WebOTP line, tenant, purpose', async () => {
    const gateway = await startGateway(200);
    try {
      const delivery = service({ settings: settings({ smsWebhookUrls: [gateway.url] }) });
      const result = await delivery.sendCode(
        codeMessage({ channel: 'sms', to: '+4791234567', purpose: 'signup' }),
      );
      assert.deepEqual(result, { ok: true });
      assert.equal(gateway.requests.length, 1);
      const request = gateway.requests[0]!;
      assert.equal(request.method, 'POST');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(request.body), {
        to: '+4791234567',
        text: `${fill(nb['sms.code'], { code: '493817', tenant: 'Acme & <Co>' })}\n\n@id.example.com #493817`,
        tenant: 'acme',
        purpose: 'signup',
      });
    } finally {
      await gateway.close();
    }
  });

  test('a 500 answer is a failed delivery naming the status', async () => {
    const gateway = await startGateway(500);
    try {
      const log = capturedLogger();
      const delivery = service({ settings: settings({ smsWebhookUrls: [gateway.url] }), logger: log.logger });
      const result = await delivery.sendCode(codeMessage({ channel: 'sms', to: '+4791234567' }));
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /answered 500/);
      assert.equal(gateway.requests.length, 1);
      assert.ok(!log.text().includes('493817'), 'the code is not logged');
      assert.ok(!log.text().includes('+4791234567'), 'the number is masked');
    } finally {
      await gateway.close();
    }
  });

  test('after a failing gateway and an unreachable one, the next in the list is tried and delivers', async () => {
    const failing = await startGateway(503);
    const unreachable = await startGateway(200);
    await unreachable.close();
    const working = await startGateway(202);
    try {
      const delivery = service({
        settings: settings({ smsWebhookUrls: [failing.url, unreachable.url, working.url] }),
      });
      const result = await delivery.sendCode(codeMessage({ channel: 'sms', to: '+4791234567' }));
      assert.deepEqual(result, { ok: true });
      assert.equal(failing.requests.length, 1);
      assert.equal(working.requests.length, 1);
      assert.equal(working.requests[0]!.body, failing.requests[0]!.body, 'the same message each time');
    } finally {
      await failing.close();
      await working.close();
    }
  });

  test('a network error on the only gateway is a failed delivery', async () => {
    const gone = await startGateway(200);
    await gone.close();
    const result = await service({ settings: settings({ smsWebhookUrls: [gone.url] }) }).sendCode(
      codeMessage({ channel: 'sms', to: '+4791234567' }),
    );
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /127\.0\.0\.1/);
  });

  test('a gateway that never answers fails after the delivery timeout', async () => {
    const silent = await startGateway('hang');
    try {
      const delivery = service({
        settings: settings({ smsWebhookUrls: [silent.url], deliveryTimeoutMs: 300 }),
      });
      const result = await delivery.sendCode(codeMessage({ channel: 'sms', to: '+4791234567' }));
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /did not answer within 300 ms/);
      assert.equal(silent.requests.length, 1, 'the request did reach it');
    } finally {
      await silent.close();
    }
  });

  test("the tenant's own gateways win over the deployment's", async () => {
    const deployment = await startGateway(200);
    const own = await startGateway(200);
    try {
      const delivery = service({ settings: settings({ smsWebhookUrls: [deployment.url] }) });
      const acme = tenant({ delivery: { sms: { webhookUrls: [own.url] } } });
      assert.deepEqual(
        await delivery.sendCode(codeMessage({ channel: 'sms', to: '+46701234567', tenant: acme })),
        {
          ok: true,
        },
      );
      assert.equal(own.requests.length, 1);
      assert.equal(deployment.requests.length, 0);
    } finally {
      await deployment.close();
      await own.close();
    }
  });
});

describe('channels and start-up problems', () => {
  test('channels() offers what is configured, and everything when there is an outbox', () => {
    const plain = tenant();
    assert.deepEqual([...service({ settings: settings() }).channels(plain)], []);
    assert.deepEqual(
      [...service({ settings: settings({ smtpUrl: 'smtp://mail.example' }) }).channels(plain)],
      ['email'],
    );
    assert.deepEqual(
      [
        ...service({ settings: settings({ smtpUrl: 'smtp://mail.example', mailFrom: undefined }) }).channels(
          plain,
        ),
      ],
      [],
      'an SMTP server without a sender is no channel',
    );
    const ownSms = tenant({ delivery: { sms: { webhookUrls: ['https://sms.acme.example/send'] } } });
    assert.deepEqual([...service({ settings: settings() }).channels(ownSms)], ['sms']);
    const unsetEnv = tenant({ delivery: { email: { smtpUrlEnv: 'ACME_SMTP_URL' } } });
    assert.deepEqual(
      [...service({ settings: settings({ smtpUrl: 'smtp://mail.example' }) }).channels(unsetEnv)],
      [],
    );
    assert.deepEqual(
      [...service({ settings: settings({ mode: 'development' }) }).channels(plain)].sort(),
      ['email', 'sms'],
      'development has the outbox',
    );
    assert.deepEqual(
      [...service({ settings: settings(), outbox: createOutbox() }).channels(plain)].sort(),
      ['email', 'sms'],
      'so has any mode given an outbox',
    );
  });

  test('deliveryProblems() names each enabled kind without a channel, a missing sender and an unset smtpUrlEnv', () => {
    const none: Pick<Settings, 'smtpUrl' | 'mailFrom' | 'smsWebhookUrls'> = { smsWebhookUrls: [] };
    assert.deepEqual(deliveryProblems([tenant()], none, {}), [
      'tenants[acme].identifierKinds: "email" is enabled but no SMTP server is configured (set VAKT_SMTP_URL or tenants[acme].delivery.email.smtpUrl)',
      'tenants[acme].identifierKinds: "phone" is enabled but no SMS gateway is configured (set VAKT_SMS_WEBHOOK_URL or tenants[acme].delivery.sms.webhookUrls)',
    ]);
    assert.deepEqual(deliveryProblems([tenant()], { ...none, smtpUrl: 'smtp://mail.example' }, {}), [
      'tenants[acme].identifierKinds: "email" is enabled but no sender address is configured (set VAKT_MAIL_FROM or tenants[acme].delivery.email.from)',
      'tenants[acme].identifierKinds: "phone" is enabled but no SMS gateway is configured (set VAKT_SMS_WEBHOOK_URL or tenants[acme].delivery.sms.webhookUrls)',
    ]);
    const phoneOnly = tenant({
      slug: 'beta',
      identifierKinds: ['phone'],
      delivery: {
        email: { smtpUrlEnv: 'BETA_SMTP_URL' },
        sms: { webhookUrls: ['https://sms.beta.example/'] },
      },
    });
    assert.deepEqual(
      deliveryProblems([phoneOnly], none, {}),
      ['tenants[beta].delivery.email.smtpUrlEnv: environment variable BETA_SMTP_URL is not set'],
      'an unset smtpUrlEnv is reported even where email is not enabled',
    );
    assert.deepEqual(deliveryProblems([phoneOnly], none, { BETA_SMTP_URL: 'https://not-smtp.example' }), [
      'tenants[beta].delivery.email.smtpUrlEnv: environment variable BETA_SMTP_URL must hold an smtp:// or smtps:// URL',
    ]);
    const emailViaEnv = tenant({
      slug: 'gamma',
      identifierKinds: ['email'],
      delivery: { email: { smtpUrlEnv: 'GAMMA_SMTP_URL', from: 'Gamma <id@gamma.example>' } },
    });
    assert.deepEqual(
      deliveryProblems([emailViaEnv], { ...none, smtpUrl: 'smtp://mail.example' }, {}),
      ['tenants[gamma].delivery.email.smtpUrlEnv: environment variable GAMMA_SMTP_URL is not set'],
      'reported once',
    );
    const configured = {
      smtpUrl: 'smtp://mail.example',
      mailFrom: FROM,
      smsWebhookUrls: ['https://sms.example/'],
    };
    assert.deepEqual(
      deliveryProblems([tenant(), phoneOnly, emailViaEnv], configured, {
        BETA_SMTP_URL: 'smtps://u:p@mail.beta.example',
        GAMMA_SMTP_URL: 'smtp://mail.gamma.example',
      }),
      [],
    );
  });

  test('the delivery variables are read, defaulted per mode and validated, naming the variable', () => {
    const base = {
      VAKT_SECRET: 'production-secret-0123456789-abcdef',
      VAKT_PUBLIC_URL: 'https://id.example.com',
    };
    const production = loadSettings('production', base);
    assert.equal(production.smtpUrl, undefined);
    assert.equal(production.mailFrom, undefined, 'production has no default sender');
    assert.deepEqual(production.smsWebhookUrls, []);
    assert.equal(production.deliveryTimeoutMs, 10_000);
    const testMode = loadSettings('test', { ...base, VAKT_PUBLIC_URL: undefined });
    assert.equal(testMode.mailFrom, 'vakt <no-reply@localhost>');
    const set = loadSettings('production', {
      ...base,
      VAKT_SMTP_URL: 'smtps://user:pass@mail.example.com',
      VAKT_MAIL_FROM: FROM,
      VAKT_SMS_WEBHOOK_URL: 'https://sms-a.example/send, https://sms-b.example/send',
      VAKT_DELIVERY_TIMEOUT: '2.5',
    });
    assert.equal(set.smtpUrl, 'smtps://user:pass@mail.example.com');
    assert.equal(set.mailFrom, FROM);
    assert.deepEqual(set.smsWebhookUrls, ['https://sms-a.example/send', 'https://sms-b.example/send']);
    assert.equal(set.deliveryTimeoutMs, 2500);
    for (const [name, value] of [
      ['VAKT_SMTP_URL', 'https://user:secret-password@mail.example.com'],
      ['VAKT_MAIL_FROM', 'nobody'],
      ['VAKT_SMS_WEBHOOK_URL', 'https://sms.example/send,ftp://secret-password@sms.example'],
      ['VAKT_DELIVERY_TIMEOUT', 'soon'],
    ] as const) {
      assert.throws(
        () => loadSettings('production', { ...base, [name]: value }),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message.includes(name) &&
          !error.message.includes('secret-password'),
        name,
      );
    }
  });
});

describe('the development outbox', () => {
  test('without a real channel, development keeps each message and prints its code', async () => {
    const log = capturedLogger();
    const clock = createManualClock(Date.parse('2026-05-04T10:00:00Z'));
    const delivery = service({ settings: settings({ mode: 'development' }), logger: log.logger, clock });
    assert.deepEqual(await delivery.sendCode(codeMessage()), { ok: true });
    clock.advance(1000);
    assert.deepEqual(
      await delivery.sendCode(
        codeMessage({ channel: 'sms', to: '+4791234567', code: '111222', purpose: 'verify' }),
      ),
      { ok: true },
    );
    const [sms, email] = delivery.outbox!.list();
    assert.deepEqual(sms, {
      at: '2026-05-04T10:00:01.000Z',
      tenant: 'acme',
      channel: 'sms',
      to: '+4791234567',
      shownTo: '912 34 567',
      purpose: 'verify',
      code: '111222',
      text: `${fill(nb['sms.code'], { code: '111222', tenant: 'Acme & <Co>' })}\n\n@id.example.com #111222`,
    });
    assert.equal(email?.code, '493817');
    assert.equal(email?.subject, fill(nb['mail.code_subject'], { code: '493817', tenant: 'Acme & <Co>' }));
    assert.match(email?.html ?? '', /<html lang="nb">/);
    assert.match(log.text(), /code 493817 by email to ada@example\.com/);
    assert.match(log.text(), /code 111222 by SMS to \+4791234567/);
    assert.match(log.text(), /https:\/\/id\.example\.com\/dev\/outbox/);
  });

  test('with a real channel, development sends for real and records it too', async () => {
    const gateway = await startGateway(200);
    try {
      const delivery = service({
        settings: settings({ mode: 'development', smsWebhookUrls: [gateway.url] }),
      });
      assert.deepEqual(await delivery.sendCode(codeMessage({ channel: 'sms', to: '+4791234567' })), {
        ok: true,
      });
      assert.equal(gateway.requests.length, 1);
      assert.equal(delivery.outbox!.latest('+4791234567')?.code, '493817');
    } finally {
      await gateway.close();
    }
  });

  test('production has no outbox unless given one, and without a channel the delivery fails', async () => {
    const production = service({ settings: settings() });
    assert.equal(production.outbox, undefined);
    assert.equal((await production.sendCode(codeMessage())).ok, false);
    const outbox = createOutbox();
    const given = service({ settings: settings({ mode: 'test' }), outbox });
    assert.deepEqual(await given.sendCode(codeMessage()), { ok: true });
    assert.equal(outbox.latest('ada@example.com')?.code, '493817');
  });

  test(`the outbox keeps the newest ${OUTBOX_LIMIT} messages, newest first`, () => {
    const outbox = createOutbox();
    for (let i = 1; i <= OUTBOX_LIMIT + 5; i++) {
      outbox.record(outboxMessage({ code: String(100000 + i) }));
    }
    const list = outbox.list();
    assert.equal(list.length, OUTBOX_LIMIT);
    assert.equal(list[0]?.code, String(100000 + OUTBOX_LIMIT + 5));
    assert.equal(list.at(-1)?.code, '100006');
  });

  test('/dev/outbox shows the messages newest first with their codes; /dev/outbox.json lists the same', async () => {
    const outbox = createOutbox();
    const app = Fastify();
    registerOutboxRoutes(app, { outbox });
    try {
      const empty = await app.inject({
        method: 'GET',
        url: '/dev/outbox',
        headers: { 'accept-language': 'en' },
      });
      assert.equal(empty.statusCode, 200);
      assert.ok(empty.body.includes(en['outbox.empty']));
      assert.ok(empty.body.includes(en['outbox.lead']), 'the page says nothing leaves the machine');

      outbox.record(
        outboxMessage({
          code: '111111',
          to: 'first@example.com',
          shownTo: 'first@example.com',
          at: '2026-05-04T10:00:00.000Z',
        }),
      );
      outbox.record(
        outboxMessage({
          code: '222222',
          channel: 'sms',
          to: '+4791234567',
          shownTo: '912 34 567',
          subject: undefined,
          html: undefined,
          text: 'Code for <script>alert(1)</script>',
          at: '2026-05-04T10:01:00.000Z',
        }),
      );
      const page = await app.inject({
        method: 'GET',
        url: '/dev/outbox',
        headers: { 'accept-language': 'en' },
      });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.match(page.body, /<html lang="en">/);
      const codes = [...page.body.matchAll(/data-code="(\d+)"/g)].map((m) => m[1]);
      assert.deepEqual(codes, ['222222', '111111'], 'newest first');
      for (const text of ['first@example.com', '912 34 567', 'acme', en['outbox.lead']]) {
        assert.ok(page.body.includes(text), `the page shows ${text}`);
      }
      assert.ok(page.body.includes('&lt;script&gt;'), 'message text is escaped');
      assert.ok(!page.body.includes('<script>'));

      const swedish = await app.inject({ method: 'GET', url: '/dev/outbox?lang=sv' });
      assert.match(swedish.body, /<html lang="sv">/);
      assert.ok(swedish.body.includes(sv['outbox.title']), 'the language switch works');
      assert.ok(swedish.body.includes('Inloggningstjänst'), 'the column names are Swedish too');
      assert.ok(!/>Tenant</.test(swedish.body));

      const json = await app.inject({ method: 'GET', url: '/dev/outbox.json' });
      assert.equal(json.statusCode, 200);
      assert.deepEqual(json.json(), { messages: JSON.parse(JSON.stringify(outbox.list())) });
      assert.equal(json.json().messages[0].code, '222222');
    } finally {
      await app.close();
    }
  });
});

function outboxMessage(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    at: '2026-05-04T10:00:00.000Z',
    tenant: 'acme',
    channel: 'email',
    to: 'ada@example.com',
    shownTo: 'ada@example.com',
    purpose: 'signup',
    code: '493817',
    subject: '493817 is your code for Acme',
    text: 'Hello,\n\n    493817\n',
    html: '<p>493817</p>',
    ...overrides,
  };
}

describe('decoys (ASVS 6.3.8: an unknown identifier is not told apart by time)', () => {
  const samples = (draw: () => number) => Array.from({ length: 500 }, draw);

  test('a decoy waits a random one of the route’s last recorded sends, never beyond the timeout', () => {
    const times = createSendTimes({ timeoutMs: 1000 });
    for (let ms = 1; ms <= SEND_TIMES_KEPT + 10; ms++) times.record('sms a', ms);
    const drawn = samples(() => times.sample('sms a'));
    assert.ok(
      drawn.every((ms) => ms > 10 && ms <= SEND_TIMES_KEPT + 10),
      'only the last ones',
    );
    assert.ok(new Set(drawn).size > SEND_TIMES_KEPT / 2, 'their spread, not one figure');
    times.record('email b', 5000);
    assert.ok(
      samples(() => times.sample('email b')).every((ms) => ms === 1000),
      'capped',
    );
  });

  test('while a route fails, a decoy fails too, after as long as the failures took; a success or time ends it', async () => {
    let now = 0;
    const times = createSendTimes({ timeoutMs: 1000, now: () => now });
    times.record('sms f', 40);
    times.record('sms f', 5, false);
    assert.ok(
      samples(() => times.sample('sms f')).every((ms) => ms === 5),
      'the failures’ times',
    );
    assert.equal(await times.imitate('sms f'), false);
    times.record('sms f', 40);
    assert.equal(await times.imitate('sms f'), true);
    assert.ok(samples(() => times.sample('sms f')).every((ms) => ms === 40));
    times.record('sms f', 5, false);
    now += FAILURE_BELIEVED_MS;
    assert.equal(await times.imitate('sms f'), true, 'an old failure is not believed any more');
  });

  test('before a route has sent anything, a decoy waits a few hundred milliseconds, within the timeout', () => {
    const [from, to] = FIRST_DECOY_MS;
    const fresh = createSendTimes({ timeoutMs: 10_000 });
    assert.ok(samples(() => fresh.sample('sms x')).every((ms) => ms >= from && ms <= to));
    const short = createSendTimes({ timeoutMs: 100 });
    assert.ok(samples(() => short.sample('sms x')).every((ms) => ms <= 100));
  });

  test('a decoy hands nothing over and takes as long as the real send before it; without a route it fails alike', async () => {
    const gateway = await startSmsGateway();
    gateway.delayMs = 80;
    try {
      const outbox = createOutbox();
      const delivery = service({ settings: settings({ smsWebhookUrls: [gateway.url] }), outbox });
      const message = codeMessage({ channel: 'sms', to: '+4791234567', purpose: 'recovery' });
      assert.deepEqual(await delivery.sendCode(message), { ok: true });
      const started = performance.now();
      assert.deepEqual(await delivery.sendDecoy({ ...message, to: '+4791234568' }), { ok: true });
      // A timer may fire a little early by the loop's clock: 70 ms is still far from an instant answer.
      assert.ok(performance.now() - started >= 70, 'about as long as the only real send');
      assert.equal(gateway.messages.length, 1, 'the decoy reached no gateway');
      assert.equal(outbox.latest('+4791234568'), undefined, 'nor the outbox');
    } finally {
      await gateway.close();
    }
    const nowhere = service({ settings: settings() });
    assert.deepEqual(await nowhere.sendDecoy(codeMessage()), await nowhere.sendCode(codeMessage()));
  });
});
