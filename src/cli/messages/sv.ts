// Svenska.
import type { CliMessageKey } from './en.js';

export const sv: Record<CliMessageKey, string> = {
  usage: `Användning: vakt <kommando> [flaggor]

Kommandon:
  dev [--config FIL]                  Starta för utveckling: SQLite under .vakt/, demotenant och demoappar
  start [--config FIL] [--workers N]  Starta för produktion (kräver VAKT_SECRET och https i VAKT_PUBLIC_URL)
  migrate                             Uppdatera databasschemat
  apply FIL                           Lägg in tenanter och klienter från en YAML- eller JSON-fil (idempotent)
  keys rotate --tenant SLUG           Skapa nya signeringsnycklar; de gamla publiceras tills deras token går ut
  keys list --tenant SLUG             Visa en tenants publicerade signeringsnycklar
  users create --tenant SLUG (--email E-POST | --phone NR)... --password-stdin [--name NAMN]
                                      Skapa ett konto; lösenordet läses från standard in
  users import FIL --tenant SLUG      Skapa konton från JSON-rader (docs/accounts-import.md);
                                      befintliga hoppas över, och en felaktig rad stoppar hela importen
  users disable --tenant SLUG KONTO   Avsluta kontots sessioner och token och neka dess inloggningar;
                                      KONTO är kontots id, en e-postadress eller ett mobilnummer
  users enable --tenant SLUG KONTO    Låt ett inaktiverat konto logga in igen
  users delete --tenant SLUG KONTO    Radera kontot och allt som hör till det; avsluta dess sessioner
  sweep                               Radera utgångna sessioner och token, gamla engångskoder och inaktiva
                                      räknare för gissningsförsök (en körande server gör det var tionde minut)

Miljövariabler: DATABASE_URL (postgres://… eller en SQLite-sökväg), PORT, HOST, VAKT_PUBLIC_URL, VAKT_SECRET,
VAKT_DATA_DIR (standard .vakt), LOG_LEVEL, VAKT_REDIS_URL. Se docs/configuration.md.`,

  'usage.unknown_command': 'okänt kommando ”{command}”',
  'usage.unknown_option': 'okänd flagga {option}',
  'usage.option_needs_value': 'flaggan {option} behöver ett värde',
  'usage.option_takes_no_value': 'flaggan {option} tar inget värde',
  'usage.tenant_required': '--tenant måste anges',
  'usage.no_tenant': 'det finns ingen tenant ”{tenant}”',
  'usage.workers': '--workers måste vara ett heltal från 1 till 64',
  'usage.apply_one_file': 'apply behöver exakt en fil',
  'usage.keys_subcommand': 'keys måste följas av rotate eller list',
  'usage.users_subcommand': 'users måste följas av create, import, disable, enable eller delete',
  'usage.identifier_required': 'ange minst en --email eller --phone',
  'usage.password_tty': '--password-stdin läser lösenordet från standard in; skicka in det via en pipe',
  'usage.password_empty': 'lösenordet på standard in är tomt',
  'usage.import_one_file': 'users import behöver exakt en fil',
  'usage.cannot_read': 'kan inte läsa {file}: {reason}',
  'usage.one_account':
    'users {action} behöver exakt ett konto: kontots id, en e-postadress eller ett mobilnummer',

  'config.error': 'fel i konfigurationen: {message}',

  'mode.development': 'utveckling',
  'mode.production': 'produktion',
  'serve.workers': 'vakt ({mode}): {workers} arbetsprocesser på {url}',
  'serve.worker_unclean': 'arbetsprocess {pid} stoppade inte korrekt ({reason})',
  'serve.worker_exited': 'arbetsprocess {pid} avslutades ({reason}); startar en ny',
  'serve.stop_failed': 'det gick inte att stoppa: {message}',
  'serve.started': 'vakt har startat på {host}:{port}, publik URL {url}',
  'dev.running': 'vakt körs i utvecklingsläge på {url}',
  'dev.database': 'databas',
  'dev.demo_app_a': 'demoapp A',
  'dev.demo_app_b': 'demoapp B',
  'dev.issuer': 'utfärdare ({tenant})',
  'dev.discovery': 'discovery',
  'dev.demo_account': 'demokonto',
  'dev.demo_account_value': '{email} eller {phone}, lösenord {password}',
  'dev.outbox': 'utkorg',
  'dev.outbox_value':
    '{url}/dev/outbox (koder som skickas med e-post och sms; inget lämnar den här datorn\nom inte VAKT_SMTP_URL eller VAKT_SMS_WEBHOOK_URL är satt)',

  'migrate.applied': 'migreringar körda: {migrations}',
  'migrate.up_to_date': 'databasen är uppdaterad',
  'apply.report':
    'tenant {tenant}: {change}; klienter tillagda {added}, ändrade {updated}, borttagna {removed}',
  'apply.created': 'skapad',
  'apply.updated': 'ändrad',
  'apply.unchanged': 'oförändrad',
  'sweep.done':
    'raderade utgångna sessioner och token ({sessions}), gamla engångskoder ({codes}), inaktiva räknare för gissningsförsök ({counters}) och gamla poster i gränserna för kodutskick ({places})',
  'keys.rotated': 'nya signeringsnycklar för {tenant}: {kids}',

  'users.line': 'rad {line}: {text}',
  'users.import_failed.one': '{file}: inget importerades, {count} felaktig rad',
  'users.import_failed.other': '{file}: inget importerades, {count} felaktiga rader',
  'users.imported.one': 'skapade {count} konto, hoppade över {skipped} (finns redan)',
  'users.imported.other': 'skapade {count} konton, hoppade över {skipped} (finns redan)',
  'users.email_invalid': 'det är inte en giltig e-postadress',
  'users.phone_invalid': 'det är inte ett giltigt mobilnummer',
  'users.identifier_taken':
    'en e-postadress eller ett mobilnummer tillhör redan ett annat konto i den här tenanten',
  'users.identifier_missing': 'ange minst en e-postadress eller ett mobilnummer',
  'users.no_account': 'tenanten {tenant} har inget konto ”{account}”',
  'users.enabled': '{id} är aktiverat',
  'users.not_disabled': '{id} var inte inaktiverat',
  'users.disabled': '{id} är inaktiverat; {ended}',
  'users.already_disabled': '{id} var redan inaktiverat; {ended}',
  'users.deleted': '{id} är raderat; {ended}',
  'users.sessions_ended.one': '{count} session avslutad',
  'users.sessions_ended.other': '{count} sessioner avslutade',
};
