// English catalogue of the `vakt` command's own output. Keys are the contract: nb.ts and sv.ts
// must have every one (the type system and test/cli.locale.test.ts both check). Placeholders are
// {name}; a count that decides a noun's form has a `.one` and an `.other` key. Command names,
// option names, environment variables, ids and file names are never translated.
export const en = {
  usage: `Usage: vakt <command> [options]

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
VAKT_DATA_DIR (default .vakt), LOG_LEVEL, VAKT_REDIS_URL. See docs/configuration.md.`,

  // Usage errors: printed as "vakt: <message>", then the usage.
  'usage.unknown_command': 'unknown command "{command}"',
  'usage.unknown_option': 'unknown option {option}',
  'usage.option_needs_value': 'option {option} needs a value',
  'usage.option_takes_no_value': 'option {option} takes no value',
  'usage.tenant_required': '--tenant is required',
  'usage.no_tenant': 'no tenant "{tenant}"',
  'usage.workers': '--workers must be a whole number from 1 to 64',
  'usage.apply_one_file': 'apply takes one file',
  'usage.keys_subcommand': 'keys takes rotate or list',
  'usage.users_subcommand': 'users takes create, import, disable, enable or delete',
  'usage.identifier_required': 'give at least one --email or --phone',
  'usage.password_tty': '--password-stdin reads the password from standard input; pipe it in',
  'usage.password_empty': 'the password on standard input is empty',
  'usage.import_one_file': 'users import takes one file',
  'usage.cannot_read': 'cannot read {file}: {reason}',
  'usage.one_account': 'users {action} takes one account: its id, an email address or a phone number',

  'config.error': 'configuration error: {message}',

  // dev and start.
  'mode.development': 'development',
  'mode.production': 'production',
  'serve.workers': 'vakt {mode}: {workers} workers on {url}',
  'serve.worker_unclean': 'worker {pid} did not stop cleanly ({reason})',
  'serve.worker_exited': 'worker {pid} exited ({reason}); starting another',
  'serve.stop_failed': 'stopping failed: {message}',
  'serve.started': 'vakt started on {host}:{port}, public URL {url}',
  'dev.running': 'vakt is running in development mode on {url}',
  'dev.database': 'database',
  'dev.demo_app_a': 'demo app A',
  'dev.demo_app_b': 'demo app B',
  'dev.issuer': 'issuer ({tenant})',
  'dev.discovery': 'discovery',
  'dev.demo_account': 'demo account',
  'dev.demo_account_value': '{email} or {phone}, password {password}',
  'dev.outbox': 'outbox',
  'dev.outbox_value':
    '{url}/dev/outbox (codes sent by email and SMS; nothing leaves this machine\nunless VAKT_SMTP_URL or VAKT_SMS_WEBHOOK_URL is set)',

  // migrate, apply, sweep, keys.
  'migrate.applied': 'applied: {migrations}',
  'migrate.up_to_date': 'the database is up to date',
  'apply.report': 'tenant {tenant}: {change}; clients added {added}, updated {updated}, removed {removed}',
  'apply.created': 'created',
  'apply.updated': 'updated',
  'apply.unchanged': 'unchanged',
  'sweep.done':
    'deleted expired sessions and tokens ({sessions}), old one-time codes ({codes}), idle guess counters ({counters}) and old places in code limits ({places})',
  'keys.rotated': 'new signing keys for {tenant}: {kids}',

  // users.
  'users.line': 'line {line}: {text}',
  'users.import_failed.one': '{file}: nothing imported, {count} bad line',
  'users.import_failed.other': '{file}: nothing imported, {count} bad lines',
  'users.imported.one': 'created {count} account, skipped {skipped} (already exist)',
  'users.imported.other': 'created {count} accounts, skipped {skipped} (already exist)',
  'users.email_invalid': 'that is not a valid email address',
  'users.phone_invalid': 'that is not a valid phone number',
  'users.identifier_taken': 'an identifier already belongs to another account in this tenant',
  'users.identifier_missing': 'give at least one identifier',
  'users.no_account': 'tenant {tenant} has no account "{account}"',
  'users.enabled': '{id} enabled',
  'users.not_disabled': '{id} was not disabled',
  'users.disabled': '{id} disabled; {ended}',
  'users.already_disabled': '{id} was disabled; {ended}',
  'users.deleted': '{id} deleted; {ended}',
  'users.sessions_ended.one': '{count} session ended',
  'users.sessions_ended.other': '{count} sessions ended',
} as const;

export type CliMessageKey = keyof typeof en;
