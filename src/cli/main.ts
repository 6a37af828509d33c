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

const USAGE = `Usage: vakt <command> [options]

Commands:
  dev [--config FILE]                 Start for development: SQLite under .vakt/, demo tenant and apps
  start [--config FILE] [--workers N] Start for production (needs VAKT_SECRET, https VAKT_PUBLIC_URL)
  migrate                             Bring the database schema up to date
  apply FILE                          Apply tenants and clients from a YAML or JSON file (idempotent)
  keys rotate --tenant SLUG           Add new signing keys; old ones stay published until their tokens expire
  keys list --tenant SLUG             List a tenant's published signing keys
  users create --tenant SLUG (--email E | --phone P)... --password-stdin [--name NAME]
                                      Create an account; the password is read from standard input
  users import FILE --tenant SLUG     Create accounts from JSON lines (docs/accounts-import.md);
                                      existing ones are skipped, a bad line imports nothing
  users disable --tenant SLUG ACCOUNT End the account's sessions and tokens and refuse its logins;
                                      ACCOUNT is its id, an email address or a phone number
  users enable --tenant SLUG ACCOUNT  Let a disabled account log in again
  users delete --tenant SLUG ACCOUNT  Delete the account and all that is its own; end its sessions
  sweep                               Delete expired sessions and tokens, old one-time codes and idle
                                      guess counters (a running server does this every 10 minutes)

Environment: DATABASE_URL (postgres://… or a SQLite path), PORT, HOST, VAKT_PUBLIC_URL, VAKT_SECRET,
VAKT_DATA_DIR (default .vakt), LOG_LEVEL, VAKT_REDIS_URL. See docs/configuration.md.`;

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
    throw new UsageError((error as Error).message);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError('--password-stdin reads the password from standard input; pipe it in');
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
            console.error(`vakt: worker ${worker.process.pid} did not stop cleanly (${signal ?? code})`);
          }
          if (allStopped()) process.exit(unclean > 0 ? 1 : 0);
          return;
        }
        console.error(`vakt: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
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
      console.log(`vakt ${mode}: ${workers} workers on ${settings.publicUrl}`);
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
        console.error(`vakt: stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  if (cluster.isWorker) return;
  if (mode === 'development') {
    const tenants = await vakt.tenants.listTenantSlugs();
    console.log(`
vakt is running in development mode on ${url}
  database:        ${settings.databaseUrl.startsWith('postgres') ? 'PostgreSQL (DATABASE_URL)' : settings.databaseUrl}
  demo app A:      ${url}/demo/a/
  demo app B:      ${url}/demo/b/
${tenants.map((t) => `  issuer (${t}):${' '.repeat(Math.max(1, 7 - t.length))}${url}/t/${t}\n  discovery:       ${url}/t/${t}/.well-known/openid-configuration`).join('\n')}
  demo account:    ${DEMO_EMAIL} or ${DEMO_PHONE}, password ${DEMO_PASSWORD}
  outbox:          ${url}/dev/outbox (codes sent by email and SMS; nothing leaves this machine
                   unless VAKT_SMTP_URL or VAKT_SMS_WEBHOOK_URL is set)
`);
  } else {
    console.log(`vakt started on ${settings.host}:${settings.port}, public URL ${url}`);
  }
}

/** `vakt users import FILE --tenant T`: every line is checked before any account is created. */
async function importUsers(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { tenant: { type: 'string' } });
  const tenant = values.tenant as string | undefined;
  if (!tenant) throw new UsageError('--tenant is required');
  if (positionals.length !== 1) throw new UsageError('users import takes one file');
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const outcome = await withCore('development', async (core) => {
    const record = await core.tenants.loadTenant(tenant);
    if (!record) throw new UsageError(`no tenant "${tenant}"`);
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
    for (const problem of outcome.problems) console.error(`line ${problem.line}: ${problem.message}`);
    const lines = new Set(outcome.problems.map((p) => p.line)).size;
    console.error(`vakt: ${file}: nothing imported, ${lines} bad line${lines === 1 ? '' : 's'}`);
    return 2;
  }
  const { created, skipped } = outcome.report;
  console.log(
    `created ${created} account${created === 1 ? '' : 's'}, skipped ${skipped.length} (already exist)${skipped.length ? ':' : ''}`,
  );
  for (const s of skipped) console.log(`  line ${s.line}: ${s.identifier}`);
  return 0;
}

const IDENTIFIER_MESSAGES: Record<string, string> = {
  'identifier.email_invalid': 'that is not a valid email address',
  'identifier.phone_invalid': 'that is not a valid phone number',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
  if (!tenant) throw new UsageError('--tenant is required');
  const who = positionals[0];
  if (positionals.length !== 1 || !who)
    throw new UsageError(`users ${action} takes one account: its id, an email address or a phone number`);
  return withCore('development', async (core) => {
    const record = await core.tenants.loadTenant(tenant);
    if (!record) throw new UsageError(`no tenant "${tenant}"`);
    const found = await core.accounts.findAccountForOperator(tenant, record.settings.defaultCountry, who);
    if (!found.ok) {
      console.error(`vakt: ${IDENTIFIER_MESSAGES[found.error]}`);
      return 1;
    }
    const account = found.value;
    if (!account) {
      console.error(`vakt: tenant ${tenant} has no account "${who}"`);
      return 1;
    }
    if (action === 'enable') {
      if (account.status === 'active') console.log(`${account.id} was not disabled`);
      else {
        await core.accounts.setAccountStatus(tenant, account.id, 'active');
        console.log(`${account.id} enabled`);
      }
      return 0;
    }
    if (action === 'delete' && !(await core.accounts.deleteAccount(tenant, account.id))) {
      // Another command deleted it since the look-up, and ended its sessions.
      console.error(`vakt: tenant ${tenant} has no account "${who}"`);
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
      action === 'delete' ? 'deleted' : account.status === 'disabled' ? 'was disabled' : 'disabled';
    console.log(`${account.id} ${done}; ${plural(ended, 'session')} ended`);
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
          throw new UsageError('--workers must be a whole number from 1 to 64');
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
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
        return 0;
      }
      case 'apply': {
        const { positionals } = parse(rest, {});
        if (positionals.length !== 1) throw new UsageError('apply takes one file');
        const config = loadDeploymentConfig(positionals[0]!);
        const reports = await withCore('development', async (core) => {
          const result = await core.tenants.applyDeploymentConfig(config);
          for (const r of result) await core.keys.ensureSigningKeys(r.tenant);
          return result;
        });
        for (const r of reports) {
          const c = r.clients;
          console.log(
            `tenant ${r.tenant}: ${r.tenantChange}; clients added ${c.added.length}, updated ${c.updated.length}, removed ${c.removed.length}`,
          );
        }
        return 0;
      }
      case 'sweep': {
        parse(rest, {});
        const swept = await withCore('development', (core) => core.sweep());
        console.log(
          `deleted ${swept.oidcModels} expired sessions and tokens, ${swept.oneTimeCodes} old one-time codes, ${swept.throttles} idle guess counters, ${swept.codePlaces} old places in code limits`,
        );
        return 0;
      }
      case 'keys': {
        const [sub, ...args] = rest;
        const { values } = parse(args, { tenant: { type: 'string' } });
        const tenant = values.tenant as string | undefined;
        if (!tenant) throw new UsageError('--tenant is required');
        if (sub === 'rotate') {
          const kids = await withCore('development', async (core) => {
            if (!(await core.repos.tenants.findTenant(tenant))) throw new UsageError(`no tenant "${tenant}"`);
            await core.keys.ensureSigningKeys(tenant);
            return core.keys.rotateSigningKeys(tenant);
          });
          console.log(`new signing keys for ${tenant}: ${kids.join(', ')}`);
          return 0;
        }
        if (sub === 'list') {
          const keys = await withCore('development', async (core) => core.keys.loadJwks(tenant));
          for (const k of keys) console.log(`${k.kid}\t${k.alg}`);
          return 0;
        }
        throw new UsageError('keys takes rotate or list');
      }
      case 'users': {
        const [sub, ...args] = rest;
        if (sub === 'import') return await importUsers(args);
        if (sub === 'disable' || sub === 'enable' || sub === 'delete') return await changeUser(sub, args);
        if (sub !== 'create') throw new UsageError('users takes create, import, disable, enable or delete');
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
        if (!tenant) throw new UsageError('--tenant is required');
        if (emails.length + phones.length === 0) throw new UsageError('give at least one --email or --phone');
        const password = values['password-stdin'] ? await readStdin() : undefined;
        if (values['password-stdin'] && !password)
          throw new UsageError('the password on standard input is empty');
        const result = await withCore('development', async (core) => {
          const record = await core.tenants.loadTenant(tenant);
          if (!record) throw new UsageError(`no tenant "${tenant}"`);
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
          const messages: Record<string, string> = {
            ...IDENTIFIER_MESSAGES,
            'identifier.taken': 'an identifier already belongs to another account in this tenant',
            'request.invalid': 'give at least one identifier',
          };
          console.error(`vakt: ${messages[result.error] ?? result.error}`);
          return 1;
        }
        console.log(result.value.id);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`vakt: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(`vakt: configuration error: ${error.message}`);
      return 2;
    }
    console.error(`vakt: ${(error as Error).message}`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
