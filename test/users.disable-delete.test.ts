// An operator disables, enables and deletes accounts with the `vakt` command (a child process on
// the running server's database, as an operator runs it), on SQLite and PostgreSQL. What the
// command did is seen over HTTP, by a real relying party (openid-client) and its back-channel
// logout endpoint: a disabled or deleted account's sessions, refresh and access tokens end at
// once, each client that signed it in gets a logout token, and its password logs in no more (a
// wrong password gets the answer any wrong one gets; the right one is told the account is
// closed, with a link to customer support); enabling it lets it log in again, and a deleted
// account's email address can make a new account. Bad input exits non-zero with one clear line,
// and so does a delete that another one beat to it (on PostgreSQL, where the test can see the
// command wait).
// Cites: ASVS 7.4.2 (disabling or deleting an account ends its sessions), ASVS 6.3.8 (without
// the password, a disabled account looks like an unknown one), back-channel logout (logout
// token shape).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import * as oidc from 'openid-client';
import pg from 'pg';
import { nb } from '../src/ui/messages/nb.js';
import {
  type BackchannelReceiver,
  startBackchannelReceiver,
  tenantLoggingOutTo,
  verifyLogoutToken,
} from './helpers/backchannel.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, UserAgent } from './helpers/http-client.js';
import { loginPage, submitForm } from './helpers/journeys.js';
import { authorizationUrl, expectSilentRedirect, logInThroughPage } from './helpers/login.js';
import { authorizationRequest, discoverClient, redeemCode } from './helpers/oidc.js';
import { runVakt, type VaktRun } from './helpers/process.js';
import {
  createEmailAccounts,
  type RunningVakt,
  randomPassword,
  startVakt,
  TEST_SECRET,
} from './helpers/vakt.js';

const STACK_TRACE = /\n\s+at /;

for (const kind of databaseKinds) {
  describe(`vakt users disable, enable and delete on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let backchannel: BackchannelReceiver;
    let config: oidc.Configuration;
    let env: Record<string, string>;
    const password = randomPassword();

    before(async () => {
      backchannel = await startBackchannelReceiver();
      const tenant = tenantLoggingOutTo(backchannel);
      running = await startVakt(kind, { config: { tenants: [tenant] } });
      await createEmailAccounts(running, [
        ['disabled@example.com', { password }],
        ['bystander@example.com', { password }],
        ['raced@example.com', { password }],
        ['lost-race@example.com', { password }],
      ]);
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: ['deleted@example.com'],
        phones: ['+47 912 34 567'],
        password,
        verified: true,
      });
      assert.ok(created.ok);
      config = await discoverClient(running.issuer, 'web');
      // The command acts on the server's database, and names the server's issuer in logout tokens.
      env = {
        DATABASE_URL: running.database.url,
        VAKT_SECRET: TEST_SECRET,
        VAKT_PUBLIC_URL: running.url,
        VAKT_DATA_DIR: mkdtempSync(join(tmpdir(), 'vakt-users-')),
      };
    });
    after(async () => {
      await running?.stop();
      await backchannel?.close();
    });

    async function users(args: string[], stdin?: string): Promise<VaktRun> {
      const run = await runVakt(['users', ...args], env, stdin);
      assert.doesNotMatch(run.stderr, STACK_TRACE, `vakt users ${args.join(' ')}:\n${run.stderr}`);
      // oidc-provider's own warning on Node 20 is not the command's.
      return { ...run, stderr: run.stderr.replace(/^oidc-provider WARNING: .*\n/m, '') };
    }

    function expectExit(run: VaktRun, code: number) {
      assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    }

    /** Signs in with offline access in a browser of its own: the browser, tokens and subject. */
    async function signIn(identifier: string) {
      const agent = new UserAgent();
      const sent = await authorizationRequest(config, { scope: 'openid offline_access', prompt: 'consent' });
      const { callback } = await logInThroughPage(agent, sent.url.href, { identifier, password });
      const tokens = await redeemCode(config, callback, sent);
      return { agent, tokens, sub: tokens.claims()!.sub };
    }

    /** The login page's answer to this identifier and the accounts' password (or `given`). */
    async function passwordLogin(identifier: string, given = password) {
      const agent = new UserAgent();
      return submitForm(agent, await loginPage(agent, running.issuer), '/login', {
        identifier,
        password: given,
      });
    }

    /** Everything a signed-in account holds is gone: session, refresh and access token. */
    async function expectAllEnded(signedIn: Awaited<ReturnType<typeof signIn>>) {
      const back = await expectSilentRedirect(
        signedIn.agent,
        authorizationUrl(running.issuer, { prompt: 'none' }),
      );
      assert.equal(back.searchParams.get('error'), 'login_required', 'the session ended');
      await assert.rejects(
        oidc.refreshTokenGrant(config, signedIn.tokens.refresh_token!),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
        'the refresh token ended',
      );
      const seen = await oidc.tokenIntrospection(config, signedIn.tokens.access_token);
      assert.equal(seen.active, false, 'the access token ended');
    }

    async function expectLogoutToken(sub: string) {
      const token = backchannel.tokens.at(-1);
      assert.ok(token, 'the client got a logout token');
      const claims = await verifyLogoutToken(token, running.issuer, 'web');
      assert.equal(claims.sub, sub);
    }

    test('ASVS 7.4.2: disabling ends the sessions and tokens, tells the client, refuses the password; enabling undoes it', async () => {
      const signedIn = await signIn('disabled@example.com');
      const bystander = await signIn('bystander@example.com');
      const wrong = await passwordLogin('nobody@example.com');
      const sentBefore = backchannel.tokens.length;

      const disabled = await users(['disable', '--tenant', 'acme', ' Disabled@Example.com']);
      expectExit(disabled, 0);
      assert.equal(disabled.stdout.trim(), `${signedIn.sub} disabled; 1 session ended`);
      assert.equal(backchannel.tokens.length, sentBefore + 1, 'one logout token, for the one session');
      await expectLogoutToken(signedIn.sub);
      await expectAllEnded(signedIn);

      // Without its password, the account looks like an unknown one (ASVS 6.3.8)...
      const guessed = await passwordLogin('disabled@example.com', `${password}-not`);
      assert.equal(guessed.status, wrong.status, 'the status of a wrong identifier');
      assert.equal(alertText(guessed), alertText(wrong), 'the message of a wrong identifier');
      // ...and whoever gives it is told that the account is closed, and where to turn.
      const refused = await passwordLogin('disabled@example.com');
      assert.equal(refused.status, 403);
      assert.equal(alertText(refused), nb['login.disabled']);
      assert.match(refused.body, /href="[^"]*\/help\/contact-support/, 'a link to customer support');
      assert.equal(refused.headers.get('location'), null, 'no login');

      // Another account's session and tokens are untouched.
      const other = await expectSilentRedirect(
        bystander.agent,
        authorizationUrl(running.issuer, { prompt: 'none' }),
      );
      assert.ok(other.searchParams.get('code'), 'the other account is still signed in');
      assert.ok((await oidc.refreshTokenGrant(config, bystander.tokens.refresh_token!)).access_token);

      // Again: nothing more to end, and it says so.
      const again = await users(['disable', '--tenant', 'acme', signedIn.sub]);
      expectExit(again, 0);
      assert.equal(again.stdout.trim(), `${signedIn.sub} was disabled; 0 sessions ended`);

      const enabled = await users(['enable', '--tenant', 'acme', signedIn.sub.toUpperCase()]);
      expectExit(enabled, 0);
      assert.equal(enabled.stdout.trim(), `${signedIn.sub} enabled`);
      const back = await signIn('disabled@example.com');
      assert.equal(back.sub, signedIn.sub, 'the same account, signed in again');
      assert.ok((await oidc.refreshTokenGrant(config, back.tokens.refresh_token!)).access_token);
      const audited = await running.vakt.repos.audit.listEvents('acme', { accountId: signedIn.sub });
      assert.deepEqual(
        audited.map((e) => e.type).filter((type) => type.startsWith('account.')),
        ['account.created', 'account.disabled', 'account.enabled'],
        'each change is in the audit trail once',
      );
    });

    test('ASVS 7.4.2: deleting ends the sessions and tokens and frees the email address and number', async () => {
      const signedIn = await signIn('deleted@example.com');
      const deleted = await users(['delete', '--tenant', 'acme', '912 34 567']);
      expectExit(deleted, 0);
      assert.equal(deleted.stdout.trim(), `${signedIn.sub} deleted; 1 session ended`);
      await expectLogoutToken(signedIn.sub);
      await expectAllEnded(signedIn);
      assert.equal((await passwordLogin('deleted@example.com')).status, 401);

      const audited = await running.vakt.repos.audit.listEvents('acme', { type: 'account.deleted' });
      assert.deepEqual(
        audited.map((e) => e.accountId),
        [signedIn.sub],
        'the audit trail keeps the deletion',
      );
      const gone = await users(['delete', '--tenant', 'acme', 'deleted@example.com']);
      expectExit(gone, 1);
      assert.equal(gone.stderr.trim(), 'vakt: tenant acme has no account "deleted@example.com"');

      const created = await users(
        [
          'create',
          '--tenant',
          'acme',
          '--email',
          'deleted@example.com',
          '--phone',
          '912 34 567',
          '--password-stdin',
        ],
        `${password}\n`,
      );
      expectExit(created, 0);
      const fresh = await signIn('deleted@example.com');
      assert.notEqual(fresh.sub, signedIn.sub, 'a new account, with nothing of the old one');
    });

    test("a disabled account's right password is audited as such, and its imported hash is upgraded only once it is enabled", async () => {
      const legacy = bcrypt.hashSync(password, 10);
      const { 'legacy@example.com': id } = await createEmailAccounts(running, [
        ['legacy@example.com', { passwordHash: legacy }],
      ]);
      assert.ok(id && (await running.vakt.accounts.setAccountStatus('acme', id, 'disabled')));
      assert.equal((await passwordLogin('legacy@example.com')).status, 403);
      assert.equal(await running.vakt.repos.accounts.findPasswordHash(id), legacy, 'nothing written');
      const refused = await running.vakt.repos.audit.listEvents('acme', {
        accountId: id,
        type: 'login.failed',
      });
      assert.deepEqual(
        refused.map((e) => e.detail),
        [{ reason: 'disabled' }],
      );

      assert.ok(await running.vakt.accounts.setAccountStatus('acme', id, 'active'));
      assert.equal((await passwordLogin('legacy@example.com')).status, 303);
      assert.match((await running.vakt.repos.accounts.findPasswordHash(id)) ?? '', /^\$argon2id\$/);
    });

    test('a session that outlived its account (a login racing the command) is no login, and no 500', async () => {
      const signedIn = await signIn('raced@example.com');
      // The race, set up directly: the account disabled, its session left as a late login leaves it.
      assert.ok(await running.vakt.accounts.setAccountStatus('acme', signedIn.sub, 'disabled'));
      const silent = await expectSilentRedirect(
        signedIn.agent,
        authorizationUrl(running.issuer, { prompt: 'none' }),
      );
      assert.equal(silent.searchParams.get('error'), 'login_required');
      const asked = await signedIn.agent.follow(authorizationUrl(running.issuer), running.url);
      assert.equal(asked.status, 200, 'the login page, not an error');
      assert.match(asked.body, /name="password"/);
      const account = await signedIn.agent.request(`${running.url}/t/acme/account/password`);
      assert.equal(account.status, 401, 'the account page asks for a login');
      // Logging in as someone else in that browser works.
      const other = await submitForm(signedIn.agent, asked, '/login', {
        identifier: 'bystander@example.com',
        password,
      });
      assert.equal(other.status, 303, alertText(other));
    });

    test('a delete that loses a race with another one says there is no such account, and audits nothing', {
      skip:
        kind.name === 'postgres'
          ? false
          : 'PostgreSQL only: there a test can see the command wait for the row; SQLite shows no one a waiting writer',
    }, async () => {
      const found = await running.vakt.accounts.findAccountForOperator('acme', 'NO', 'lost-race@example.com');
      assert.ok(found.ok && found.value);
      const id = found.value.id;
      // The other command: its delete made and not yet committed, so this one still finds the
      // account, and its own delete waits for the row. The watcher sees it wait (from a
      // connection of its own: in a transaction, pg_stat_activity stays as first read).
      const other = new pg.Client({ connectionString: running.database.url });
      const watcher = new pg.Client({ connectionString: running.database.url });
      await Promise.all([other.connect(), watcher.connect()]);
      try {
        await other.query('begin');
        await other.query('delete from accounts where id = $1', [id]);
        const losing = users(['delete', '--tenant', 'acme', 'lost-race@example.com']);
        for (let tries = 0; ; tries++) {
          const { rows } = await watcher.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity
              where wait_event_type = 'Lock' and query like 'delete from "accounts"%'`,
          );
          if (Number(rows[0]?.n) > 0) break;
          assert.ok(tries < 800, 'the command reached its delete');
          await sleep(25);
        }
        await other.query('commit');
        const lost = await losing;
        expectExit(lost, 1);
        assert.equal(lost.stderr.trim(), 'vakt: tenant acme has no account "lost-race@example.com"');
        assert.equal(lost.stdout, '', 'no sessions ended by this command');
      } finally {
        await Promise.all([other.end(), watcher.end()]);
      }
      const audited = await running.vakt.repos.audit.listEvents('acme', { accountId: id });
      assert.deepEqual(
        audited.filter((e) => e.type === 'account.deleted'),
        [],
        'the losing command audits no deletion (the other one, plain SQL here, audits its own)',
      );
    });

    test('bad input: one clear line, a non-zero exit, nothing changed', async () => {
      const [noTenant, noAccount, unknownTenant, badEmail, badPhone, unknown, twoAccounts] =
        await Promise.all([
          users(['disable', 'bystander@example.com']),
          users(['disable', '--tenant', 'acme']),
          users(['disable', '--tenant', 'nope', 'bystander@example.com']),
          users(['disable', '--tenant', 'acme', 'bystander@']),
          users(['enable', '--tenant', 'acme', '12']),
          users(['delete', '--tenant', 'acme', 'nobody@example.com']),
          users(['delete', '--tenant', 'acme', 'bystander@example.com', 'disabled@example.com']),
        ]);
      expectExit(noTenant, 2);
      assert.match(noTenant.stderr, /--tenant is required/);
      expectExit(noAccount, 2);
      assert.match(noAccount.stderr, /takes one account: its id, an email address or a phone number/);
      expectExit(twoAccounts, 2);
      assert.match(twoAccounts.stderr, /takes one account/);
      expectExit(unknownTenant, 2);
      assert.match(unknownTenant.stderr, /no tenant "nope"/);
      expectExit(badEmail, 1);
      assert.equal(badEmail.stderr.trim(), 'vakt: that is not a valid email address');
      expectExit(badPhone, 1);
      assert.equal(badPhone.stderr.trim(), 'vakt: that is not a valid phone number');
      expectExit(unknown, 1);
      assert.equal(unknown.stderr.trim(), 'vakt: tenant acme has no account "nobody@example.com"');
      const still = await passwordLogin('bystander@example.com');
      assert.equal(still.status, 303, 'the account named alongside another was not touched');
    });
  });
}
