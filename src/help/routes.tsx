// The help pages of each tenant: `/t/<tenant>/help` lists the topics and `/t/<tenant>/help/<topic>`
// answers one, in the page's language, with the tenant's own text where its config gives one and
// its support contacts at the foot. Error messages on the hosted pages link here (HELP_FOR_ERROR).
//
// Rules enforced here:
// - tenant: an unknown tenant is a localised 404, as on every page under /t/<tenant>/.
// - topic: only the fixed list of topics exists; anything else is a localised 404.
// - text: everything from the config is text, escaped by JSX; no HTML passes through, and a
//   "see also" link names a topic, never a URL.
// - return: the way back to the page a person came from (`?return=`) is shown, and carried along
//   the help pages' own links, only when it is a page of this tenant's journeys (returnPathFor);
//   anything else is dropped, so the link can never lead off the site or to another tenant.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FC } from 'hono/jsx';
import type { TenantSettings } from '../domain/tenants.js';
import type { SendErrorPage } from '../flows/kit.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import { buildPageContext, rememberLanguageChoice } from '../server/http-context.js';
import { Layout, type PageContext, renderDocument } from '../ui/layout.js';
import {
  HELP_TOPICS,
  type HelpBlock,
  type HelpGroup,
  helpIndexLink,
  helpLink,
  isJourneyReturn,
  isTopicSlug,
  resolveHelpText,
  returnPathFor,
  type TopicSlug,
  topicGroup,
} from './topics.js';

export interface HelpRoutesDeps {
  registry: TenantRegistry;
  sendErrorPage: SendErrorPage;
}

type Support = TenantSettings['support'];

/** What a help page needs besides its text: the page, the tenant, and the way back if any. */
interface HelpView {
  page: PageContext;
  settings: TenantSettings;
  /** A checked return path (returnPathFor), or undefined. */
  back: string | undefined;
}

const Body: FC<{ view: HelpView; blocks: HelpBlock[] }> = ({ view, blocks }) => (
  <>
    {blocks.map((block) =>
      typeof block === 'string' ? (
        <p>{block}</p>
      ) : 'list' in block ? (
        <ul>
          {block.list.map((item) => (
            <li>{item}</li>
          ))}
        </ul>
      ) : (
        <p class="see-also">
          {view.page.t('help.see_also')}{' '}
          <a href={helpLink(view.settings.slug, block.see, undefined, view.back)}>
            {resolveHelpText(block.see, view.page.locale, view.settings).title}
          </a>
        </p>
      ),
    )}
  </>
);

/** "Back to the login" (or to the account page) when the person came from one. */
const BackLink: FC<{ view: HelpView }> = ({ view }) =>
  view.back ? (
    <p class="secondary">
      <a href={view.back} id="help-back">
        {view.page.t(
          isJourneyReturn(view.settings.slug, view.back) ? 'help.back_login' : 'help.back_account',
        )}
      </a>
    </p>
  ) : null;

/** The tenant's support contacts, or where to turn when it has configured none. */
const Contacts: FC<{ page: PageContext; support: Support }> = ({ page, support }) => {
  const { t } = page;
  if (!support.email && !support.phone && !support.url) return <p>{t('help.no_contacts')}</p>;
  return (
    <>
      <p>{t('help.contact_lead', { tenant: page.tenantName })}</p>
      <ul class="contacts">
        {support.email ? (
          <li>
            {t('help.email')}: <a href={`mailto:${support.email}`}>{support.email}</a>
          </li>
        ) : null}
        {support.phone ? (
          <li>
            {t('help.phone')}: <a href={`tel:${support.phone.replace(/\s+/g, '')}`}>{support.phone}</a>
          </li>
        ) : null}
        {support.url ? (
          <li>
            {t('help.web')}: <a href={support.url}>{support.url}</a>
          </li>
        ) : null}
      </ul>
    </>
  );
};

const TopicList: FC<{ view: HelpView; group: HelpGroup }> = ({ view, group }) => (
  <ul class="topics">
    {HELP_TOPICS.filter((topic) => topicGroup(topic) === group).map((topic) => (
      <li>
        <a href={helpLink(view.settings.slug, topic, undefined, view.back)}>
          {resolveHelpText(topic, view.page.locale, view.settings).title}
        </a>
      </li>
    ))}
  </ul>
);

export function renderHelpIndexPage(p: HelpView): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('help.title')}>
      <BackLink view={p} />
      <h1>{t('help.title')}</h1>
      <p>{t('help.lead', { tenant: p.page.tenantName })}</p>
      <section aria-labelledby="help-questions">
        <h2 id="help-questions">{t('help.questions')}</h2>
        <TopicList view={p} group="questions" />
      </section>
      <section aria-labelledby="help-errors">
        <h2 id="help-errors">{t('help.errors')}</h2>
        <p>{t('help.errors_lead')}</p>
        <TopicList view={p} group="errors" />
      </section>
      <section aria-labelledby="help-support">
        <h2 id="help-support">{t('help.more')}</h2>
        <Contacts page={p.page} support={p.settings.support} />
      </section>
    </Layout>,
  );
}

export function renderHelpTopicPage(p: HelpView & { topic: TopicSlug }): string {
  const { t } = p.page;
  const text = resolveHelpText(p.topic, p.page.locale, p.settings);
  return renderDocument(
    <Layout page={p.page} title={text.title}>
      <BackLink view={p} />
      <h1>{text.title}</h1>
      <Body view={p} blocks={text.body} />
      {p.topic === 'contact-support' ? (
        <Contacts page={p.page} support={p.settings.support} />
      ) : (
        // The way out when the answer did not help is on every topic, not only on the last one.
        <section aria-labelledby="help-support">
          <h2 id="help-support">{t('help.more')}</h2>
          <Contacts page={p.page} support={p.settings.support} />
        </section>
      )}
      <p class="secondary">
        <a href={helpIndexLink(p.settings.slug, undefined, p.back)}>{t('help.all_topics')}</a>
      </p>
    </Layout>,
  );
}

export function registerHelpRoutes(app: FastifyInstance, deps: HelpRoutesDeps): void {
  const { registry, sendErrorPage } = deps;

  /** The tenant of the URL, or undefined once the 404 page was sent. */
  async function openTenant(
    request: FastifyRequest<{ Params: { tenant: string } }>,
    reply: FastifyReply,
  ): Promise<TenantRuntime | undefined> {
    const runtime = await registry.getTenant(request.params.tenant);
    if (!runtime) sendErrorPage(request, reply, 404, 'tenant.not_found');
    return runtime;
  }

  /** The page, and the way back when `?return=` names a page of this tenant's journeys. */
  function view(request: FastifyRequest, reply: FastifyReply, runtime: TenantRuntime): HelpView {
    // The language switch's choice is kept as on every hosted page; Secure wherever the issuer is https.
    rememberLanguageChoice(request, reply, new URL(runtime.issuer).protocol === 'https:');
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    const back = returnPathFor(runtime.slug, (request.query as Record<string, unknown> | undefined)?.return);
    // The language switch links to this page with the way back and nothing else from the query.
    const path = new URL(request.url, 'http://x').pathname;
    return {
      page: { ...page, path: back ? `${path}?return=${back}` : path },
      settings: runtime.settings,
      back,
    };
  }

  function html(reply: FastifyReply, body: string) {
    // Asked for again on every visit: the language follows a cookie and the text follows the config.
    return reply.code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(body);
  }

  app.get<{ Params: { tenant: string } }>('/t/:tenant/help', async (request, reply) => {
    const runtime = await openTenant(request, reply);
    if (!runtime) return reply;
    return html(reply, renderHelpIndexPage(view(request, reply, runtime)));
  });

  app.get<{ Params: { tenant: string; topic: string } }>('/t/:tenant/help/:topic', async (request, reply) => {
    const runtime = await openTenant(request, reply);
    if (!runtime) return reply;
    const { topic } = request.params;
    if (!isTopicSlug(topic)) return sendErrorPage(request, reply, 404, 'request.not_found', runtime.settings);
    return html(reply, renderHelpTopicPage({ ...view(request, reply, runtime), topic }));
  });
}
