// The development outbox: every code message vakt hands over (or, without a real channel, would
// have), kept in memory for /dev/outbox and the tests. Bounded, so a long `vakt dev` stays small.
import type { Channel, CodePurpose } from './types.js';

export const OUTBOX_LIMIT = 200;

export interface OutboxMessage {
  /** ISO 8601 time it was recorded. */
  at: string;
  /** The tenant's slug. */
  tenant: string;
  channel: Channel;
  to: string;
  /** `to` as the person would write it (`912 34 567` in a Norwegian tenant). */
  shownTo: string;
  /** What the code is for, or `notice` for a message without one. */
  purpose: CodePurpose | 'notice';
  /** Empty for a notice. */
  code: string;
  /** Email only. */
  subject?: string;
  /** The plain-text body of an email, or the SMS text. */
  text: string;
  /** Email only. */
  html?: string;
}

export interface Outbox {
  record(message: OutboxMessage): void;
  /** Newest first. */
  list(): OutboxMessage[];
  /** The newest message, or the newest to this address or number. */
  latest(to?: string): OutboxMessage | undefined;
  clear(): void;
}

export function createOutbox(limit = OUTBOX_LIMIT): Outbox {
  // Oldest first, so recording is a push and trimming drops from the front.
  const messages: OutboxMessage[] = [];
  return {
    record(message) {
      messages.push(message);
      if (messages.length > limit) messages.splice(0, messages.length - limit);
    },
    list() {
      return messages.slice().reverse();
    },
    latest(to) {
      for (let i = messages.length - 1; i >= 0; i--) {
        const message = messages[i]!;
        if (to === undefined || message.to === to) return message;
      }
      return undefined;
    },
    clear() {
      messages.length = 0;
    },
  };
}

/** One readable console line for `vakt dev`: the code first, since that is what one looks for. */
export function describeForConsole(message: OutboxMessage, outboxUrl: string): string {
  const what = message.channel === 'email' ? 'email' : 'SMS';
  return `outbox: code ${message.code} by ${what} to ${message.to} (tenant ${message.tenant}, ${message.purpose}) – ${outboxUrl}`;
}
