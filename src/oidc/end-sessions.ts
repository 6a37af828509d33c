// Ending an account's sessions outside a logout request: after a password reset (none kept) or
// a change (the person's own session kept), ASVS 7.4.3, and when an operator disables or deletes
// the account (`vakt users`), 7.4.2. Every other session ends, with every
// grant, code and token that is not the kept session's, and each client of an ended session
// that registered a back-channel logout URI is sent a logout token by oidc-provider itself, as
// its own logout does (OpenID Connect Back-Channel Logout 1.0). A client that cannot be reached
// is logged through the provider's `backchannel.error` event and fails nothing.
import type { Clock } from '../domain/clock.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import type { TenantRegistry, TenantRuntime } from './registry.js';

/**
 * Ends the account's sessions but `keep`, or only the session `only` (the person's choice on the
 * sessions page); answers how many ended.
 */
export type EndSessions = (
  tenant: string,
  accountId: string,
  which?: { keep?: string | undefined; only?: string },
) => Promise<number>;

/** What oidc-provider's Client does but its published types leave out. */
interface LogoutCapableClient {
  backchannelLogoutUri?: string | undefined;
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

/**
 * The account's live sessions in a tenant, as oidc-provider reads them; with `only`, that one
 * session if it is the account's.
 */
export async function accountSessions(
  deps: { models: OidcModelRepository; clock: Clock },
  runtime: Pick<TenantRuntime, 'slug' | 'provider'>,
  accountId: string,
  only?: string,
) {
  const ids = only ? [only] : await deps.models.listSessionIds(runtime.slug, accountId, deps.clock.now());
  const found = await Promise.all(ids.map((id) => runtime.provider.Session.find(id)));
  return found.filter(
    (session): session is NonNullable<typeof session> =>
      session !== undefined && session.accountId === accountId,
  );
}

export function createSessionEnder(deps: {
  registry: TenantRegistry;
  models: OidcModelRepository;
  clock: Clock;
}): EndSessions {
  return async function endSessions(slug, accountId, which = {}) {
    const runtime = await deps.registry.getTenant(slug);
    if (!runtime) return 0;
    const { provider } = runtime;
    const sessions = await accountSessions(deps, runtime, accountId, which.only);
    const grantsOf = (session: (typeof sessions)[number]) =>
      Object.values(session.authorizations ?? {}).flatMap((a) => (a.grantId ? [a.grantId] : []));
    const kept = sessions.find((session) => session.jti === which.keep);
    if (which.only) {
      // One session: it, its grants, and the codes and tokens issued under them.
      for (const session of sessions) {
        await deps.models.destroyModel(slug, 'Session', session.jti);
        for (const grantId of grantsOf(session)) await deps.models.revokeGrant(slug, grantId);
      }
    } else {
      await deps.models.revokeAccount(
        slug,
        accountId,
        kept && { sessionId: kept.jti, grantIds: grantsOf(kept) },
      );
    }
    const notices = sessions
      .filter((session) => session !== kept)
      .flatMap((session) =>
        Object.keys(session.authorizations ?? {}).map(async (clientId) => {
          const client = (await provider.Client.find(clientId)) as LogoutCapableClient | undefined;
          if (!client?.backchannelLogoutUri) return;
          const sid = session.sidFor(clientId);
          try {
            await client.backchannelLogout(accountId, sid);
            provider.emit('backchannel.success', undefined, client, accountId, sid);
          } catch (error) {
            provider.emit('backchannel.error', undefined, error, client, accountId, sid);
          }
        }),
      );
    await Promise.all(notices);
    return sessions.length - (kept ? 1 : 0);
  };
}
