// The DeliveryService: composes the message, picks the tenant's route and hands the code to
// SMTP or the SMS gateway. In development (or wherever an outbox is passed in) a kind without a
// real channel goes to the outbox instead, and what a real channel took is recorded there too.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { type Clock, systemClock } from '../domain/clock.js';
import { displayIdentifier } from '../domain/identifiers.js';
import { createEmailSender } from './email.js';
import { type ComposedEmail, composeEmail, composeNotice, composeSms } from './messages.js';
import { createOutbox, describeForConsole, type Outbox, type OutboxMessage } from './outbox.js';
import { emailRouting, smsRouting } from './routing.js';
import { sendSms } from './sms.js';
import { createSendTimes } from './timing.js';
import type { Channel, CodeMessage, DeliveryResult, DeliveryService, NoticeMessage } from './types.js';

export interface DeliveryDeps {
  settings: Pick<Settings, 'mode' | 'smtpUrl' | 'mailFrom' | 'smsWebhookUrls' | 'deliveryTimeoutMs'>;
  logger: Logger;
  /** The public URL; its host name goes in the SMS's autofill line. */
  publicUrl: () => string;
  /** Where a tenant's `delivery.email.smtpUrlEnv` is read at send time; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Development makes its own; other modes have none unless one is passed (tests do). */
  outbox?: Outbox;
  clock?: Clock;
}

export interface Delivery extends DeliveryService {
  /** For /dev/outbox; undefined in production unless one was passed in. */
  readonly outbox: Outbox | undefined;
  /** Closes SMTP connections; call when vakt stops. */
  close(): void;
}

/** Enough of an address or number to tell which one failed, not enough to collect them from logs. */
export function maskDestination(to: string): string {
  const at = to.lastIndexOf('@');
  if (at > 0) return `${to.slice(0, 1)}***${to.slice(at)}`;
  return to.length > 5 ? `${to.slice(0, 3)}***${to.slice(-2)}` : '***';
}

export function createDeliveryService(deps: DeliveryDeps): Delivery {
  const { settings, logger, publicUrl } = deps;
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const development = settings.mode === 'development';
  const outbox = deps.outbox ?? (development ? createOutbox() : undefined);
  const emailSender = createEmailSender({ timeoutMs: settings.deliveryTimeoutMs });
  const sendTimes = createSendTimes({ timeoutMs: settings.deliveryTimeoutMs });

  function toOutbox(
    message: CodeMessage | NoticeMessage,
    content: Pick<OutboxMessage, 'subject' | 'text' | 'html'>,
  ): void {
    if (!outbox) return;
    const entry: OutboxMessage = {
      at: new Date(clock.now()).toISOString(),
      tenant: message.tenant.slug,
      channel: message.channel,
      to: message.to,
      shownTo: displayIdentifier(
        message.channel === 'email' ? 'email' : 'phone',
        message.to,
        message.tenant.defaultCountry,
      ),
      purpose: 'code' in message ? message.purpose : 'notice',
      code: 'code' in message ? message.code : '',
      ...content,
    };
    outbox.record(entry);
    // Printing the code is the point of the outbox in development; production never logs it.
    if (settings.mode === 'production') {
      logger.info({ tenant: entry.tenant, channel: entry.channel }, 'code recorded in the outbox');
    } else {
      logger.info(describeForConsole(entry, `${publicUrl()}/dev/outbox`));
    }
  }

  /** A real send, timed; a decoy sends nothing, waits as long and ends alike (timing.ts). */
  async function timed(
    route: string,
    decoy: boolean,
    send: () => Promise<DeliveryResult>,
  ): Promise<DeliveryResult> {
    if (decoy) {
      if (await sendTimes.imitate(route)) return { ok: true };
      return { ok: false, reason: 'a decoy on a route whose last send failed' };
    }
    const started = performance.now();
    const result = await send();
    sendTimes.record(route, performance.now() - started, result.ok);
    return result;
  }

  /**
   * Hands composed content to the message's channel (the tenant's route, else the outbox where
   * there is one). What reaches the outbox is only what was handed over: a failed code is
   * discarded, so showing it would mislead. A decoy fails where a real send has no route.
   */
  async function deliver(
    message: CodeMessage | NoticeMessage,
    email: ComposedEmail,
    smsText: string,
    decoy = false,
  ): Promise<DeliveryResult> {
    const toOutboxOnly = (content: Pick<OutboxMessage, 'subject' | 'text' | 'html'>) =>
      timed(`outbox ${message.channel}`, decoy, async () => {
        toOutbox(message, content);
        return { ok: true };
      });
    if (message.channel === 'email') {
      const routing = emailRouting(message.tenant, settings, env);
      if ('problem' in routing) {
        if (!outbox) return { ok: false, reason: 'no SMTP server or sender is configured' };
        return toOutboxOnly(email);
      }
      return timed(`email ${routing.route.smtpUrl}`, decoy, async () => {
        const result = await emailSender.send(routing.route, message.to, email);
        if (result.ok) toOutbox(message, email);
        return result;
      });
    }
    const routing = smsRouting(message.tenant, settings);
    if ('problem' in routing) {
      if (!outbox) return { ok: false, reason: 'no SMS gateway is configured' };
      return toOutboxOnly({ text: smsText });
    }
    const { webhookUrls } = routing.route;
    const purpose = 'code' in message ? message.purpose : 'notice';
    return timed(`sms ${webhookUrls.join(' ')}`, decoy, async () => {
      const result = await sendSms(
        webhookUrls,
        { to: message.to, text: smsText, tenant: message.tenant.slug, purpose },
        settings.deliveryTimeoutMs,
      );
      if (result.ok) toOutbox(message, { text: smsText });
      return result;
    });
  }

  /** Never throws: a failure is a result, logged without the code and with the address masked. */
  async function safely(message: CodeMessage | NoticeMessage, send: () => Promise<DeliveryResult>) {
    let result: DeliveryResult;
    try {
      result = await send();
    } catch (error) {
      result = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (!result.ok) {
      logger.warn(
        {
          tenant: message.tenant.slug,
          channel: message.channel,
          purpose: 'code' in message ? message.purpose : 'notice',
          to: maskDestination(message.to),
          reason: result.reason,
        },
        'code' in message ? 'code delivery failed' : 'notice delivery failed',
      );
    }
    return result;
  }

  return {
    outbox,
    sendNotice: (message) =>
      safely(message, () => {
        const composed = composeNotice(message);
        return deliver(message, composed, composed.sms);
      }),
    sendCode: (message) =>
      safely(message, () => deliver(message, composeEmail(message), composeSms(message, publicUrl()))),
    sendDecoy: (message) =>
      safely(message, () => deliver(message, composeEmail(message), composeSms(message, publicUrl()), true)),
    channels(tenant) {
      // The outbox takes what has no real channel, so with one every channel works.
      if (outbox) return new Set<Channel>(['email', 'sms']);
      const channels = new Set<Channel>();
      if ('route' in emailRouting(tenant, settings, env)) channels.add('email');
      if ('route' in smsRouting(tenant, settings)) channels.add('sms');
      return channels;
    },
    close() {
      emailSender.close();
    },
  };
}
