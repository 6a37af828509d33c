// What the rest of vakt knows about sending messages: a code goes to an identifier, by email
// (SMTP) or SMS (HTTP webhook), and either it was handed over or it was not. How is in this folder.
import type { Locale } from '../config/schema.js';
import type { TenantSettings } from '../domain/tenants.js';

export type Channel = 'email' | 'sms';

/** Why a code is sent; named in the SMS webhook's JSON and in the email's wording. */
export type CodePurpose = 'signup' | 'verify' | 'recovery';

export interface CodeMessage {
  tenant: TenantSettings;
  channel: Channel;
  /** A normalised identifier: an email address, or a phone number in E.164. */
  to: string;
  locale: Locale;
  purpose: CodePurpose;
  code: string;
}

/** A message without a code: telling a person something happened to their account. */
export interface NoticeMessage {
  tenant: TenantSettings;
  channel: Channel;
  to: string;
  locale: Locale;
  notice: 'password_changed';
}

export type DeliveryResult = { ok: true } | { ok: false; reason: string };

export interface DeliveryService {
  /** Hands the code over to the channel; never throws. A failure is logged with its reason. */
  sendCode(message: CodeMessage): Promise<DeliveryResult>;
  /**
   * A decoy for `sendCode` (a reset for an unknown identifier): hands nothing over, but answers
   * as sending would (a failure where the channel has no route) and takes as long as a recent
   * real send on the same route, so neither the answer nor its timing tells the two apart.
   */
  sendDecoy(message: CodeMessage): Promise<DeliveryResult>;
  /** Sends a notice; never throws, failures are logged (a notice is not worth failing a request). */
  sendNotice(message: NoticeMessage): Promise<DeliveryResult>;
  /** The channels this tenant can send on (its own settings, else the deployment's). */
  channels(tenant: TenantSettings): Set<Channel>;
}
