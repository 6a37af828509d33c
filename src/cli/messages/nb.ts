// Norsk bokmål.
import type { CliMessageKey } from './en.js';

export const nb: Record<CliMessageKey, string> = {
  usage: `Bruk: vakt <kommando> [valg]

Kommandoer:
  dev [--config FIL]                  Start for utvikling: SQLite under .vakt/, demoleietaker og demoapper
  start [--config FIL] [--workers N]  Start for produksjon (krever VAKT_SECRET og https i VAKT_PUBLIC_URL)
  migrate                             Oppdater databaseskjemaet
  apply FIL                           Legg inn leietakere og klienter fra en YAML- eller JSON-fil (idempotent)
  keys rotate --tenant SLUG           Lag nye signeringsnøkler; de gamle publiseres til tokenene deres utløper
  keys list --tenant SLUG             Vis de publiserte signeringsnøklene til en leietaker
  users create --tenant SLUG (--email E-POST | --phone NR)... --password-stdin [--name NAVN]
                                      Opprett en konto; passordet leses fra standard inn
  users import FIL --tenant SLUG      Opprett kontoer fra JSON-linjer (docs/accounts-import.md);
                                      eksisterende hoppes over, og én feil linje stopper hele importen
  users disable --tenant SLUG KONTO   Avslutt kontoens økter og tokener og avvis innlogginger;
                                      KONTO er id-en, en e-postadresse eller et mobilnummer
  users enable --tenant SLUG KONTO    La en deaktivert konto logge inn igjen
  users delete --tenant SLUG KONTO    Slett kontoen og alt som hører til den; avslutt øktene
  sweep                               Slett utløpte økter og tokener, gamle engangskoder og inaktive
                                      tellere for gjetteforsøk (en kjørende server gjør dette hvert 10. minutt)

Miljøvariabler: DATABASE_URL (postgres://… eller en SQLite-sti), PORT, HOST, VAKT_PUBLIC_URL, VAKT_SECRET,
VAKT_DATA_DIR (standard .vakt), LOG_LEVEL, VAKT_REDIS_URL. Se docs/configuration.md.`,

  'usage.unknown_command': 'ukjent kommando «{command}»',
  'usage.unknown_option': 'ukjent valg {option}',
  'usage.option_needs_value': 'valget {option} trenger en verdi',
  'usage.option_takes_no_value': 'valget {option} tar ingen verdi',
  'usage.tenant_required': '--tenant må oppgis',
  'usage.no_tenant': 'det finnes ingen leietaker «{tenant}»',
  'usage.workers': '--workers må være et heltall fra 1 til 64',
  'usage.apply_one_file': 'apply trenger nøyaktig én fil',
  'usage.keys_subcommand': 'keys må følges av rotate eller list',
  'usage.users_subcommand': 'users må følges av create, import, disable, enable eller delete',
  'usage.identifier_required': 'oppgi minst én --email eller --phone',
  'usage.password_tty': '--password-stdin leser passordet fra standard inn; send det inn gjennom en pipe',
  'usage.password_empty': 'passordet på standard inn er tomt',
  'usage.import_one_file': 'users import trenger nøyaktig én fil',
  'usage.cannot_read': 'kan ikke lese {file}: {reason}',
  'usage.one_account':
    'users {action} trenger nøyaktig én konto: id-en, en e-postadresse eller et mobilnummer',

  'config.error': 'feil i konfigurasjonen: {message}',

  'mode.development': 'utvikling',
  'mode.production': 'produksjon',
  'serve.workers': 'vakt ({mode}): {workers} arbeidsprosesser på {url}',
  'serve.worker_unclean': 'arbeidsprosess {pid} stoppet ikke ordentlig ({reason})',
  'serve.worker_exited': 'arbeidsprosess {pid} avsluttet ({reason}); starter en ny',
  'serve.stop_failed': 'klarte ikke å stoppe: {message}',
  'serve.started': 'vakt startet på {host}:{port}, offentlig URL {url}',
  'dev.running': 'vakt kjører i utviklingsmodus på {url}',
  'dev.database': 'database',
  'dev.demo_app_a': 'demoapp A',
  'dev.demo_app_b': 'demoapp B',
  'dev.issuer': 'utsteder ({tenant})',
  'dev.discovery': 'discovery',
  'dev.demo_account': 'demokonto',
  'dev.demo_account_value': '{email} eller {phone}, passord {password}',
  'dev.outbox': 'utboks',
  'dev.outbox_value':
    '{url}/dev/outbox (koder sendt på e-post og SMS; ingenting forlater denne maskinen\nmed mindre VAKT_SMTP_URL eller VAKT_SMS_WEBHOOK_URL er satt)',

  'migrate.applied': 'migreringer kjørt: {migrations}',
  'migrate.up_to_date': 'databasen er oppdatert',
  'apply.report':
    'leietaker {tenant}: {change}; klienter lagt til {added}, endret {updated}, fjernet {removed}',
  'apply.created': 'opprettet',
  'apply.updated': 'endret',
  'apply.unchanged': 'uendret',
  'sweep.done':
    'slettet utløpte økter og tokener ({sessions}), gamle engangskoder ({codes}), inaktive tellere for gjetteforsøk ({counters}) og gamle oppføringer i grensene for kodeutsending ({places})',
  'keys.rotated': 'nye signeringsnøkler for {tenant}: {kids}',

  'users.line': 'linje {line}: {text}',
  'users.import_failed.one': '{file}: ingenting importert, {count} linje med feil',
  'users.import_failed.other': '{file}: ingenting importert, {count} linjer med feil',
  'users.imported.one': 'opprettet {count} konto, hoppet over {skipped} (finnes fra før)',
  'users.imported.other': 'opprettet {count} kontoer, hoppet over {skipped} (finnes fra før)',
  'users.email_invalid': 'det er ikke en gyldig e-postadresse',
  'users.phone_invalid': 'det er ikke et gyldig mobilnummer',
  'users.identifier_taken':
    'en e-postadresse eller et mobilnummer tilhører allerede en annen konto hos denne leietakeren',
  'users.identifier_missing': 'oppgi minst én e-postadresse eller ett mobilnummer',
  'users.no_account': 'leietakeren {tenant} har ingen konto «{account}»',
  'users.enabled': '{id} er aktivert',
  'users.not_disabled': '{id} var ikke deaktivert',
  'users.disabled': '{id} er deaktivert; {ended}',
  'users.already_disabled': '{id} var allerede deaktivert; {ended}',
  'users.deleted': '{id} er slettet; {ended}',
  'users.sessions_ended.one': '{count} økt avsluttet',
  'users.sessions_ended.other': '{count} økter avsluttet',
};
