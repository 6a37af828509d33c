// The `vakt` command: dev, start, migrate, apply, keys, users, sweep. Usage errors and bad
// configuration exit with 2 and one line naming the problem; nothing prints a stack trace.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { createCore, createRegistry, createVakt, type Vakt } from '../composition.js';
import { ConfigError } from '../config/errors.js';
import { loadDeploymentConfig } from '../config/load.js';
import type { DeploymentConfig } from '../config/schema.js';
import { loadSettings, type Mode, workerHashConcurrency } from '../config/settings.js';
import { registerOutboxRoutes } from '../delivery/outbox-page.js';
import { deliveryProblems } from '../delivery/routing.js';
import { demoRelyingParties } from '../demo/relying-party.js';
import { DEMO_EMAIL, DEMO_PASSWORD, DEMO_PHONE, seedDemo } from '../demo/seed.js';
import { importAccounts, parseAccountImport } from '../domain/account-import.js';
import { createSessionEnder } from '../oidc/end-sessions.js';
import { type CliMessageKey, plural, t } from './messages/index.js';

class UsageError extends Error {}

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function parse(
  argv: string[],
  options: ParseArgsConfig['options'],
): { values: ParsedValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as {
      values: ParsedValues;
      positionals: string[];
    };
  } catch (error) {
    // Node's own wording is English; the option it names is said in the operator's language.
    const { code, message } = error as NodeJS.ErrnoException;
    const option = /'(--?[^' ]+)/.exec(message)?.[1];
    if (option && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(t('usage.unknown_option', { option }));
    if (option && code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const takesValue = options?.[option.replace(/^--?/, '')]?.type === 'string';
      throw new UsageError(
        t(takesValue ? 'usage.option_needs_value' : 'usage.option_takes_no_value', { option }),
      );
    }
    throw new UsageError(message);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError(t('usage.password_tty'));
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the pipe's, not the password's.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function withCore<T>(
  mode: Mode,
  fn: (core: ReturnType<typeof createCore>, applied: string[]) => Promise<T>,
): Promise<T> {
  const core = createCore(loadSettings(mode), { poolSize: 2 });
  try {
    return await fn(core, await core.migrate());
  } finally {
    await core.close();
  }
}

/** `vakt dev`: every email and SMS vakt would send, readable at /dev/outbox. */
function developmentOutbox(app: FastifyInstance, vakt: Vakt): void {
  if (vakt.delivery.outbox) registerOutboxRoutes(app, { outbox: vakt.delivery.outbox });
}

async function serve(mode: 'development' | 'production', configFile: string | undefined, workers: number) {
  const settings = loadSettings(mode);
  const config: DeploymentConfig | undefined = configFile ? loadDeploymentConfig(configFile) : undefined;

  if (cluster.isPrimary) {
    // The primary prepares the database once; workers only serve.
    const core = createCore(settings, { poolSize: 2 });
    try {
      await core.migrate();
      if (mode === 'development') await seedDemo(core, settings.publicUrl, config);
      else if (config) await core.tenants.applyDeploymentConfig(config);
      if (mode === 'production') {
        // Every identifier kind a tenant accepts needs a way to send it a code.
        const tenants = await Promise.all(
          (await core.tenants.listTenantSlugs()).map(
            async (slug) => (await core.tenants.loadTenant(slug))!.settings,
          ),
        );
        const problems = deliveryProblems(tenants, settings);
        if (problems.length > 0) throw new ConfigError(problems.join('\n'));
      }
      for (const slug of await core.tenants.listTenantSlugs()) await core.keys.ensureSigningKeys(slug);
    } finally {
      await core.close();
    }
    if (workers > 1) {
      // The workers share the cores for password hashing, unless VAKT_HASH_CONCURRENCY says otherwise.
      const env =
        settings.hashConcurrency === undefined
          ? { VAKT_HASH_CONCURRENCY: String(workerHashConcurrency(workers)) }
          : {};
      for (let i = 0; i < workers; i++) cluster.fork(env);
      let stopping = false;
      // Workers that did not stop cleanly (killed, or their stop failed): the primary's exit
      // status says so, for the service manager.
      let unclean = 0;
      const allStopped = () => Object.values(cluster.workers ?? {}).every((w) => !w || w.isDead());
      cluster.on('exit', (worker, code, signal) => {
        if (stopping) {
          if (code !== 0 || signal) {
            unclean++;
            console.error(
              `vakt: ${t('serve.worker_unclean', { pid: worker.process.pid ?? '?', reason: signal ?? code })}`,
            );
          }
          if (allStopped()) process.exit(unclean > 0 ? 1 : 0);
          return;
        }
        console.error(
          `vakt: ${t('serve.worker_exited', { pid: worker.process.pid ?? '?', reason: signal ?? code })}`,
        );
        cluster.fork(env);
      });
      // A worker whose primary dies exits at once, dropping what it was answering: on SIGTERM or
      // SIGINT the primary asks each worker to stop as a single process does (the requests in
      // flight answered), starts no new ones, and exits once all have: with 0, or 1 when one did
      // not stop cleanly.
      const stopWorkers = () => {
        if (stopping) return;
        stopping = true;
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
        if (allStopped()) process.exit(0);
      };
      process.once('SIGTERM', stopWorkers);
      process.once('SIGINT', stopWorkers);
      console.log(
        t('serve.workers', {
          mode: t(mode === 'development' ? 'mode.development' : 'mode.production'),
          workers,
          url: settings.publicUrl,
        }),
      );
      return;
    }
  }

  const vakt = await createVakt(
    settings,
    mode === 'development' ? { plugins: [demoRelyingParties, developmentOutbox] } : {},
  );
  const url = await vakt.listen();
  // Once, whichever signal comes first: Ctrl-C reaches every worker and the primary forwards it.
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    vakt.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(
          `vakt: ${t('serve.stop_failed', { message: error instanceof Error ? error.message : String(error) })}`,
        );
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  if (cluster.isWorker) return;
  if (mode === 'development') {
    const tenants = await vakt.tenants.listTenantSlugs();
    console.log(
      developmentBanner(url, [
        [
          t('dev.database'),
          settings.databaseUrl.startsWith('postgres') ? 'PostgreSQL (DATABASE_URL)' : settings.databaseUrl,
        ],
        [t('dev.demo_app_a'), `${url}/demo/a/`],
        [t('dev.demo_app_b'), `${url}/demo/b/`],
        ...tenants.flatMap((tenant): [string, string][] => [
          [t('dev.issuer', { tenant }), `${url}/t/${tenant}`],
          [t('dev.discovery'), `${url}/t/${tenant}/.well-known/openid-configuration`],
        ]),
        [
          t('dev.demo_account'),
          t('dev.demo_account_value', { email: DEMO_EMAIL, phone: DEMO_PHONE, password: DEMO_PASSWORD }),
        ],
        [t('dev.outbox'), t('dev.outbox_value', { url })],
      ]),
    );
  } else {
    console.log(t('serve.started', { host: settings.host, port: settings.port, url }));
  }
}

/**
 * What `vakt dev` prints once it listens: a heading, then one labelled row per line with the
 * values in one column (a value's later lines indented to it).
 */
function developmentBanner(url: string, rows: [label: string, value: string][]): string {
  const column = Math.max(19, ...rows.map(([label]) => label.length + 4));
  const lines = rows.map(
    ([label, value]) => `  ${label}:`.padEnd(column) + value.split('\n').join(`\n${' '.repeat(column)}`),
  );
  return `\n${t('dev.running', { url })}\n${lines.join('\n')}\n`;
}

/** `vakt users import FILE --tenant T`: every line is checked before any account is created. */
async function importUsers(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { tenant: { type: 'string' } });
  const tenant = values.tenant as string | undefined;
  if (!tenant) throw new UsageError(t('usage.tenant_required'));
  if (positionals.length !== 1) throw new UsageError(t('usage.import_one_file'));
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      t('usage.cannot_read', {
        file,
        reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
      }),
    );
  }
  const outcome = await withCore('development', async (core) => {
    const record = await core.tenants.loadTenant(tenant);
    if (!record) throw new UsageError(t('usage.no_tenant', { tenant }));
    const parsed = parseAccountImport(text, record.settings.defaultCountry);
    if (!parsed.ok) return parsed;
    const report = await importAccounts(
      { accounts: core.accounts, db: core.store.db },
      tenant,
      record.settings.defaultCountry,
      parsed.accounts,
    );
    return { ok: true as const, report };
  });
  if (!outcome.ok) {
    for (const problem of outcome.problems)
      console.error(t('users.line', { line: problem.line, text: problem.message }));
    const lines = new Set(outcome.problems.map((p) => p.line)).size;
    console.error(`vakt: ${plural('users.import_failed', lines, { file })}`);
    return 2;
  }
  const { created, skipped } = outcome.report;
  console.log(
    `${plural('users.imported', created, { skipped: skipped.length })}${skipped.length ? ':' : ''}`,
  );
  for (const s of skipped) console.log(`  ${t('users.line', { line: s.line, text: s.identifier })}`);
  return 0;
}

const IDENTIFIER_MESSAGES: Record<string, CliMessageKey> = {
  'identifier.email_invalid': 'users.email_invalid',
  'identifier.phone_invalid': 'users.phone_invalid',
};

const APPLY_CHANGES: Record<'created' | 'updated' | 'unchanged', CliMessageKey> = {
  created: 'apply.created',
  updated: 'apply.updated',
  unchanged: 'apply.unchanged',
};

/**
 * `vakt users disable|enable|delete --tenant T ACCOUNT`, ACCOUNT being the account's id or one of
 * its email addresses or phone numbers. Disabling or deleting ends every session of the account
 * with its grants and tokens, and sends each client with a back-channel logout URI a logout
 * token, as a logout does (ASVS 7.4.2); the token names the issuer at VAKT_PUBLIC_URL, so that
 * must be the server's. The account changes first, then its sessions end; a session that a login
 * racing the command leaves behind is refused (the login prompt's account_gone check).
 */
async function changeUser(action: 'disable' | 'enable' | 'delete', args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { tenant: { type: 'string' } });
  const tenant = values.tenant as string | undefined;
  if (!tenant) throw new UsageError(t('usage.tenant_required'));
  const who = positionals[0];
  if (positionals.length !== 1 || !who) throw new UsageError(t('usage.one_account', { action }));
  return withCore('development', async (core) => {
    const record = await core.tenants.loadTenant(tenant);
    if (!record) throw new UsageError(t('usage.no_tenant', { tenant }));
    const found = await core.accounts.findAccountForOperator(tenant, record.settings.defaultCountry, who);
    if (!found.ok) {
      const key = IDENTIFIER_MESSAGES[found.error];
      console.error(`vakt: ${key ? t(key) : found.error}`);
      return 1;
    }
    const account = found.value;
    if (!account) {
      console.error(`vakt: ${t('users.no_account', { tenant, account: who })}`);
      return 1;
    }
    if (action === 'enable') {
      if (account.status === 'active') console.log(t('users.not_disabled', { id: account.id }));
      else {
        await core.accounts.setAccountStatus(tenant, account.id, 'active');
        console.log(t('users.enabled', { id: account.id }));
      }
      return 0;
    }
    if (action === 'delete' && !(await core.accounts.deleteAccount(tenant, account.id))) {
      // Another command deleted it since the look-up, and ended its sessions.
      console.error(`vakt: ${t('users.no_account', { tenant, account: who })}`);
      return 1;
    }
    if (action === 'disable' && account.status !== 'disabled')
      await core.accounts.setAccountStatus(tenant, account.id, 'disabled');
    const endSessions = createSessionEnder({
      registry: createRegistry(core, () => core.settings.publicUrl),
      models: core.repos.oidcModels,
      clock: core.clock,
    });
    const ended = await endSessions(tenant, account.id);
    const done =
      action === 'delete'
        ? 'users.deleted'
        : account.status === 'disabled'
          ? 'users.already_disabled'
          : 'users.disabled';
    console.log(t(done, { id: account.id, ended: plural('users.sessions_ended', ended) }));
    return 0;
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dev':
      case 'start': {
        const { values } = parse(rest, { config: { type: 'string' }, workers: { type: 'string' } });
        const workers = values.workers === undefined ? 1 : Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 64)
          throw new UsageError(t('usage.workers'));
        await serve(
          command === 'dev' ? 'development' : 'production',
          values.config as string | undefined,
          workers,
        );
        return -1; // keep running
      }
      case 'migrate': {
        parse(rest, {});
        const applied = await withCore('development', async (_core, migrations) => migrations);
        console.log(
          applied.length ? t('migrate.applied', { migrations: applied.join(', ') }) : t('migrate.up_to_date'),
        );
        return 0;
      }
      case 'apply': {
        const { positionals } = parse(rest, {});
        if (positionals.length !== 1) throw new UsageError(t('usage.apply_one_file'));
        const config = loadDeploymentConfig(positionals[0]!);
        const reports = await withCore('development', async (core) => {
          const result = await core.tenants.applyDeploymentConfig(config);
          for (const r of result) await core.keys.ensureSigningKeys(r.tenant);
          return result;
        });
        for (const r of reports) {
          const c = r.clients;
          console.log(
            t('apply.report', {
              tenant: r.tenant,
              change: t(APPLY_CHANGES[r.tenantChange]),
              added: c.added.length,
              updated: c.updated.length,
              removed: c.removed.length,
            }),
          );
        }
        return 0;
      }
      case 'sweep': {
        parse(rest, {});
        const swept = await withCore('development', (core) => core.sweep());
        console.log(
          t('sweep.done', {
            sessions: swept.oidcModels,
            codes: swept.oneTimeCodes,
            counters: swept.throttles,
            places: swept.codePlaces,
          }),
        );
        return 0;
      }
      case 'keys': {
        const [sub, ...args] = rest;
        const { values } = parse(args, { tenant: { type: 'string' } });
        const tenant = values.tenant as string | undefined;
        if (!tenant) throw new UsageError(t('usage.tenant_required'));
        if (sub === 'rotate') {
          const kids = await withCore('development', async (core) => {
            if (!(await core.repos.tenants.findTenant(tenant)))
              throw new UsageError(t('usage.no_tenant', { tenant }));
            await core.keys.ensureSigningKeys(tenant);
            return core.keys.rotateSigningKeys(tenant);
          });
          console.log(t('keys.rotated', { tenant, kids: kids.join(', ') }));
          return 0;
        }
        if (sub === 'list') {
          const keys = await withCore('development', async (core) => core.keys.loadJwks(tenant));
          for (const k of keys) console.log(`${k.kid}\t${k.alg}`);
          return 0;
        }
        throw new UsageError(t('usage.keys_subcommand'));
      }
      case 'users': {
        const [sub, ...args] = rest;
        if (sub === 'import') return await importUsers(args);
        if (sub === 'disable' || sub === 'enable' || sub === 'delete') return await changeUser(sub, args);
        if (sub !== 'create') throw new UsageError(t('usage.users_subcommand'));
        const { values } = parse(args, {
          tenant: { type: 'string' },
          email: { type: 'string', multiple: true },
          phone: { type: 'string', multiple: true },
          name: { type: 'string' },
          'password-stdin': { type: 'boolean' },
        });
        const tenant = values.tenant as string | undefined;
        const emails = (values.email as string[] | undefined) ?? [];
        const phones = (values.phone as string[] | undefined) ?? [];
        if (!tenant) throw new UsageError(t('usage.tenant_required'));
        if (emails.length + phones.length === 0) throw new UsageError(t('usage.identifier_required'));
        const password = values['password-stdin'] ? await readStdin() : undefined;
        if (values['password-stdin'] && !password) throw new UsageError(t('usage.password_empty'));
        const result = await withCore('development', async (core) => {
          const record = await core.tenants.loadTenant(tenant);
          if (!record) throw new UsageError(t('usage.no_tenant', { tenant }));
          return core.accounts.createAccount({
            tenant,
            defaultCountry: record.settings.defaultCountry,
            emails,
            phones,
            ...(password ? { password } : {}),
            ...(values.name ? { name: values.name as string } : {}),
            verified: true,
          });
        });
        if (!result.ok) {
          const messages: Record<string, CliMessageKey> = {
            ...IDENTIFIER_MESSAGES,
            'identifier.taken': 'users.identifier_taken',
            'request.invalid': 'users.identifier_missing',
          };
          const key = messages[result.error];
          console.error(`vakt: ${key ? t(key) : result.error}`);
          return 1;
        }
        console.log(result.value.id);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(t('usage'));
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(t('usage.unknown_command', { command }));
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`vakt: ${error.message}\n\n${t('usage')}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(`vakt: ${t('config.error', { message: error.message })}`);
      return 2;
    }
    console.error(`vakt: ${(error as Error).message}`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
