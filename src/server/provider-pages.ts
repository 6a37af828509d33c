// The pages oidc-provider renders itself (errors, logout), drawn with vakt's templates.
import type { ProviderPages, RawRequestInfo } from '../oidc/provider.js';
import { renderErrorPage, renderLoggedOutPage, renderLogoutPage } from '../ui/pages.js';
import { buildPageContext } from './http-context.js';

function toPageRequest(request: RawRequestInfo) {
  return { url: `/?${request.query.toString()}`, headers: request.headers };
}

export const providerPages: ProviderPages = {
  renderError(tenant, request, out) {
    const page = buildPageContext(toPageRequest(request), tenant);
    // The OAuth error code helps the relying party's developer; the sentence helps the person.
    const detail = out.error_description ? `${out.error}: ${out.error_description}` : out.error;
    return renderErrorPage({
      page,
      error: out.error === 'server_error' ? 'server.unexpected' : 'oauth.error',
      detail,
      support: tenant.support,
    });
  },
  renderLogout(tenant, request, form) {
    return renderLogoutPage({ page: buildPageContext(toPageRequest(request), tenant), form });
  },
  renderLoggedOut(tenant, request) {
    return renderLoggedOutPage({ page: buildPageContext(toPageRequest(request), tenant) });
  },
  renderRequestError(tenant, request, error) {
    return renderErrorPage({
      page: buildPageContext(toPageRequest(request), tenant),
      error,
      support: tenant.support,
    });
  },
};
