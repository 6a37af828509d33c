// SMS through an HTTP webhook: vakt POSTs `{ to, text, tenant, purpose }` as JSON and the gateway
// (a small adapter in front of any SMS provider) answers 2xx once it has taken the message.
// Gateways are tried in order; each gets the delivery timeout, and anything but 2xx is a failure.
import type { CodePurpose, DeliveryResult } from './types.js';

export interface SmsPayload {
  /** E.164, e.g. `+4791234567`. */
  to: string;
  text: string;
  /** The tenant's slug. */
  tenant: string;
  /** Why the message is sent: a code's purpose, or `notice`. */
  purpose: CodePurpose | 'notice';
}

/**
 * fetch refuses a URL with credentials in it, so `https://user:pass@gw/…` becomes Basic
 * authentication; the name used in reasons and logs is the host alone, never the credentials.
 */
function prepare(webhookUrl: string): { url: string; name: string; authorization?: string } {
  const url = new URL(webhookUrl);
  const name = url.host;
  if (!url.username && !url.password) return { url: url.href, name };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, name, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

async function post(webhookUrl: string, payload: SmsPayload, timeoutMs: number): Promise<DeliveryResult> {
  let gateway: ReturnType<typeof prepare>;
  try {
    gateway = prepare(webhookUrl);
  } catch {
    return { ok: false, reason: 'a gateway URL is not a valid URL' };
  }
  try {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(gateway.authorization ? { authorization: gateway.authorization } : {}),
      },
      body: JSON.stringify(payload),
      // A redirect is not an answer: following it would post the code somewhere else.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not used; cancelling it frees the connection.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { ok: true };
    return { ok: false, reason: `${gateway.name} answered ${response.status}` };
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') {
      return { ok: false, reason: `${gateway.name} did not answer within ${timeoutMs} ms` };
    }
    const detail = err.cause?.code ?? err.cause?.message ?? err.message;
    return { ok: false, reason: `${gateway.name}: ${detail}` };
  }
}

/** Tries each gateway in turn until one answers 2xx; the failure names why each one failed. */
export async function sendSms(
  webhookUrls: readonly string[],
  payload: SmsPayload,
  timeoutMs: number,
): Promise<DeliveryResult> {
  const reasons: string[] = [];
  for (const url of webhookUrls) {
    const result = await post(url, payload, timeoutMs);
    if (result.ok) return result;
    reasons.push(result.reason);
  }
  return { ok: false, reason: `SMS: ${reasons.join('; ') || 'no gateway configured'}` };
}
