// GET /dev/outbox and /dev/outbox.json: the codes vakt sent, newest first, for the person trying
// vakt out and for the tests. Registered by `vakt dev` only: it shows live codes to anyone.
import type { FastifyInstance } from 'fastify';
import type { FC } from 'hono/jsx';
import { buildPageContext } from '../server/http-context.js';
import { Layout, type PageContext, renderDocument } from '../ui/layout.js';
import type { Outbox, OutboxMessage } from './outbox.js';

export interface OutboxRouteDeps {
  outbox: Outbox;
}

const MessageItem: FC<{ page: PageContext; message: OutboxMessage }> = ({ page, message }) => {
  const { t } = page;
  const at = new Date(message.at);
  const time = new Intl.DateTimeFormat(page.locale, { dateStyle: 'short', timeStyle: 'medium' }).format(at);
  return (
    <li>
      <article>
        <h2>
          {message.code ? (
            <span data-code={message.code}>{message.code}</span>
          ) : (
            (message.subject ?? message.purpose)
          )}
        </h2>
        <dl>
          <dt>{t('outbox.sent_at')}</dt>
          <dd>
            <time datetime={message.at}>{time}</time>
          </dd>
          <dt>{t('outbox.tenant')}</dt>
          <dd>{message.tenant}</dd>
          <dt>{t('outbox.channel')}</dt>
          <dd>
            <code>{message.channel}</code>
          </dd>
          <dt>{t('outbox.to')}</dt>
          <dd>{message.shownTo}</dd>
        </dl>
        <h3>{t('outbox.message')}</h3>
        {message.subject ? (
          <p>
            <strong>{message.subject}</strong>
          </p>
        ) : null}
        <pre>{message.text}</pre>
      </article>
    </li>
  );
};

export function renderOutboxPage(page: PageContext, messages: OutboxMessage[]): string {
  const { t } = page;
  return renderDocument(
    <Layout page={page} title={t('outbox.title')}>
      <h1>{t('outbox.title')}</h1>
      <p>{t('outbox.lead')}</p>
      {messages.length === 0 ? (
        <p id="outbox-empty">{t('outbox.empty')}</p>
      ) : (
        <ol id="outbox">
          {messages.map((message) => (
            <MessageItem page={page} message={message} />
          ))}
        </ol>
      )}
    </Layout>,
  );
}

export function registerOutboxRoutes(app: FastifyInstance, deps: OutboxRouteDeps): void {
  const { outbox } = deps;
  app.get('/dev/outbox', async (request, reply) => {
    const page = buildPageContext({ url: request.url, headers: request.headers }, undefined);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderOutboxPage(page, outbox.list()));
  });
  app.get('/dev/outbox.json', async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ messages: outbox.list() });
  });
}
