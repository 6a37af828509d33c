// The words of a code message, in the person's language and naming the tenant: an email with a
// plain-text and an HTML body, or an SMS ending in the WebOTP line browsers offer to autofill.
import type { Child } from 'hono/jsx';
import type { Locale } from '../config/schema.js';
import type { MessageKey, Translate } from '../ui/i18n.js';
import { translator } from '../ui/i18n.js';
import type { CodeMessage, CodePurpose, NoticeMessage } from './types.js';

const INTRO: Record<CodePurpose, MessageKey> = {
  signup: 'mail.code_signup',
  verify: 'mail.code_verify',
  recovery: 'mail.code_recovery',
};

export interface ComposedEmail {
  subject: string;
  text: string;
  html: string;
}

function emailLines(t: Translate, message: CodeMessage) {
  const tenant = message.tenant.displayName;
  return {
    greeting: t('mail.greeting'),
    intro: t(INTRO[message.purpose], { tenant }),
    validity: t('mail.code_validity'),
    ignore: t('mail.code_ignore'),
    signature: t('mail.signature', { tenant }),
  };
}

export function composeEmail(message: CodeMessage): ComposedEmail {
  const t = translator(message.locale);
  // The tenant's name is configuration; a line break in it must not reach a header.
  const subject = t('mail.code_subject', { code: message.code, tenant: message.tenant.displayName }).replace(
    /[\r\n]+/g,
    ' ',
  );
  const lines = emailLines(t, message);
  const text = [
    lines.greeting,
    '',
    lines.intro,
    '',
    `    ${message.code}`,
    '',
    lines.validity,
    '',
    lines.ignore,
    '',
    lines.signature,
    '',
  ].join('\n');
  const html = emailHtml(message.locale, subject, [
    <p>{lines.greeting}</p>,
    <p>{lines.intro}</p>,
    <p style="font-family:ui-monospace,Menlo,Consolas,monospace;font-size:32px;font-weight:700;letter-spacing:6px;margin:24px 0">
      {message.code}
    </p>,
    <p>{lines.validity}</p>,
    <p style="color:#555555">{lines.ignore}</p>,
    <p>{lines.signature}</p>,
  ]);
  return { subject, text, html };
}

/**
 * The SMS text. Its last line is an origin-bound one-time code (the format WebOTP and iOS/
 * Android autofill read): `@<host> #<code>`. The format has no port, so it is the host name only.
 */
export function composeSms(message: CodeMessage, publicUrl: string): string {
  const t = translator(message.locale);
  const text = t('sms.code', { code: message.code, tenant: message.tenant.displayName });
  return `${text}\n\n@${new URL(publicUrl).hostname} #${message.code}`;
}

/** A notice in plain words: the same text by email (with a subject) and by SMS. */
export function composeNotice(message: NoticeMessage): ComposedEmail & { sms: string } {
  const t = translator(message.locale);
  const tenant = message.tenant.displayName;
  const subject = t('notice.password_changed_subject', { tenant }).replace(/[\r\n]+/g, ' ');
  const body = t('notice.password_changed', { tenant });
  const text = [t('mail.greeting'), '', body, '', t('mail.signature', { tenant }), ''].join('\n');
  const html = emailHtml(message.locale, subject, [
    <p>{t('mail.greeting')}</p>,
    <p>{body}</p>,
    <p>{t('mail.signature', { tenant })}</p>,
  ]);
  return { subject, text, html, sms: body };
}

/**
 * The HTML frame of every email. hono/jsx escapes every text and attribute value. Inline styles
 * and no images, fonts or links: mail clients block remote resources, and a code must read
 * without them.
 */
function emailHtml(locale: Locale, subject: string, paragraphs: Child[]): string {
  return (
    '<!doctype html>' +
    String(
      <html lang={locale}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{subject}</title>
        </head>
        <body style="margin:0;padding:24px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
          {paragraphs}
        </body>
      </html>,
    )
  );
}
