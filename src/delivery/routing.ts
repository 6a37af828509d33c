// Which SMTP server, sender and SMS gateways a tenant's codes go through: the tenant's own
// `delivery` settings from the config file, else the deployment-wide ones from the environment.
// The same answers decide what `channels()` offers and what `vakt start` refuses to start with.
import type { Settings } from '../config/settings.js';
import type { TenantSettings } from '../domain/tenants.js';

export type DeliverySettings = Pick<Settings, 'smtpUrl' | 'mailFrom' | 'smsWebhookUrls'>;

export interface EmailRoute {
  smtpUrl: string;
  from: string;
}

export interface SmsRoute {
  webhookUrls: string[];
}

/** A route, or why there is none, worded for an operator and naming the field to fix. */
export type Routing<T> = { route: T } | { problem: string };

function isSmtpUrl(value: string): boolean {
  try {
    return ['smtp:', 'smtps:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * A tenant that names `smtpUrlEnv` means that server: when the variable is unset its mail does
 * not quietly go through the deployment's server instead, it has no email channel.
 */
function tenantSmtpUrl(tenant: TenantSettings, env: NodeJS.ProcessEnv): Routing<string | undefined> {
  const email = tenant.delivery.email;
  if (email?.smtpUrl) return { route: email.smtpUrl };
  if (!email?.smtpUrlEnv) return { route: undefined };
  const field = `tenants[${tenant.slug}].delivery.email.smtpUrlEnv`;
  const value = env[email.smtpUrlEnv];
  if (!value) return { problem: `${field}: environment variable ${email.smtpUrlEnv} is not set` };
  // Only the variable is named: its value may hold a password.
  if (!isSmtpUrl(value)) {
    return {
      problem: `${field}: environment variable ${email.smtpUrlEnv} must hold an smtp:// or smtps:// URL`,
    };
  }
  return { route: value };
}

export function emailRouting(
  tenant: TenantSettings,
  settings: DeliverySettings,
  env: NodeJS.ProcessEnv,
): Routing<EmailRoute> {
  const own = tenantSmtpUrl(tenant, env);
  if ('problem' in own) return own;
  const smtpUrl = own.route ?? settings.smtpUrl;
  const kind = `tenants[${tenant.slug}].identifierKinds: "email" is enabled but`;
  if (!smtpUrl) {
    return {
      problem: `${kind} no SMTP server is configured (set VAKT_SMTP_URL or tenants[${tenant.slug}].delivery.email.smtpUrl)`,
    };
  }
  const from = tenant.delivery.email?.from ?? settings.mailFrom;
  if (!from) {
    return {
      problem: `${kind} no sender address is configured (set VAKT_MAIL_FROM or tenants[${tenant.slug}].delivery.email.from)`,
    };
  }
  return { route: { smtpUrl, from } };
}

export function smsRouting(tenant: TenantSettings, settings: DeliverySettings): Routing<SmsRoute> {
  const webhookUrls = tenant.delivery.sms?.webhookUrls ?? settings.smsWebhookUrls;
  if (webhookUrls.length === 0) {
    return {
      problem: `tenants[${tenant.slug}].identifierKinds: "phone" is enabled but no SMS gateway is configured (set VAKT_SMS_WEBHOOK_URL or tenants[${tenant.slug}].delivery.sms.webhookUrls)`,
    };
  }
  return { route: { webhookUrls } };
}

/**
 * For production start-up: every tenant that lets people use an identifier kind it cannot send
 * codes to, and every `smtpUrlEnv` naming a variable that is unset or not an SMTP URL. Empty
 * when all is well. Development needs none of this: its outbox takes what has no channel.
 */
export function deliveryProblems(
  tenants: TenantSettings[],
  settings: DeliverySettings,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const problems: string[] = [];
  for (const tenant of tenants) {
    const own = tenantSmtpUrl(tenant, env);
    if ('problem' in own) problems.push(own.problem);
    const email = emailRouting(tenant, settings, env);
    // A bad smtpUrlEnv is already reported above, whether or not email is enabled.
    if (tenant.identifierKinds.includes('email') && 'problem' in email && !problems.includes(email.problem)) {
      problems.push(email.problem);
    }
    const sms = smsRouting(tenant, settings);
    if (tenant.identifierKinds.includes('phone') && 'problem' in sms) problems.push(sms.problem);
  }
  return problems;
}
