// Table types for Kysely. Timestamps are epoch milliseconds (bigint-safe numbers) so both
// dialects compare and sort them the same way; JSON columns are text on both.
import type { Generated } from 'kysely';

export interface TenantTable {
  slug: string;
  display_name: string;
  /** The validated tenant configuration (without clients), as JSON. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface ClientTable {
  tenant_slug: string;
  client_id: string;
  /** The validated client configuration without its secret, as JSON. */
  settings: string;
  /** The client secret encrypted with the deployment secret, or null for a public client. */
  secret_encrypted: string | null;
  updated_at: number;
}

export interface AccountTable {
  id: string;
  tenant_slug: string;
  status: 'active' | 'disabled';
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  locale: string | null;
  created_at: number;
  updated_at: number;
}

export interface IdentifierTable {
  id: string;
  tenant_slug: string;
  account_id: string;
  kind: 'email' | 'phone';
  /** Normalised: e-mail trimmed, NFC, lower-cased; phone E.164. */
  value: string;
  verified_at: number | null;
  created_at: number;
}

export interface CredentialTable {
  id: string;
  account_id: string;
  kind: 'password';
  /** PHC string (argon2id); legacy forms are upgraded at the next successful login. */
  secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface FederatedIdentityTable {
  id: string;
  tenant_slug: string;
  account_id: string;
  /** Upstream issuer + subject is the key (ASVS 6.8.1): an upstream e-mail never takes over an account. */
  issuer: string;
  subject: string;
  last_acr: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface TermsTable {
  id: string;
  tenant_slug: string;
  /** null for the tenant's (network's) own terms, else the client the terms belong to. */
  client_id: string | null;
  version: string;
  published_at: number;
  content_url: string | null;
}

export interface TermsAcceptanceTable {
  account_id: string;
  terms_id: string;
  accepted_at: number;
}

export interface OidcModelTable {
  tenant_slug: string;
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface SigningKeyTable {
  kid: string;
  tenant_slug: string;
  alg: string;
  /** 1 for a tenant's first key of an algorithm, +1 at each rotation; unique per tenant and algorithm. */
  generation: number;
  /** The private JWK, encrypted with the deployment secret (AES-256-GCM). */
  private_jwk_encrypted: string;
  created_at: number;
  /** Set when a newer key of the same algorithm took over signing. */
  retired_at: number | null;
  /** After this the public key is no longer published. */
  unpublish_at: number | null;
}

export interface OneTimeCodeTable {
  id: string;
  tenant_slug: string;
  /** What asked for the code (an interaction uid): a code works only there. */
  journey: string;
  purpose: 'signup' | 'verify' | 'recovery';
  kind: 'email' | 'phone';
  /** The normalised identifier the code went to. */
  destination: string;
  /** ISO country of a phone destination (for limits per destination country); null for email. */
  destination_country: string | null;
  /** HMAC of tenant, destination and code under a key derived from the deployment secret. */
  code_hash: string;
  attempts: number;
  max_attempts: number;
  /** What the journey needs once the code is right (e.g. the chosen password's hash), encrypted. */
  payload_encrypted: string | null;
  ip: string | null;
  created_at: number;
  /** Null until the channel took the message: an unsent code is not live and counts for nothing. */
  sent_at: number | null;
  expires_at: number;
  consumed_at: number | null;
  /** Set when a newer code for the same journey replaced this one ("send a new code"). */
  superseded_at: number | null;
  /** Set when what the code proved was used (a reset's new password): a proof works once. */
  spent_at: number | null;
}

export interface LoginThrottleTable {
  tenant_slug: string;
  /** `id:<identifier>`, `ip:<address>` or `account:<id>`. */
  key: string;
  failures: number;
  last_failure_at: number;
  blocked_until: number;
}

export interface AuditEventTable {
  id: Generated<number>;
  tenant_slug: string;
  account_id: string | null;
  type: string;
  at: number;
  ip: string | null;
  detail: string | null;
}

/**
 * A place a code holds in the limits on sending codes: one row per counter (destination, IP
 * address, destination country) from the moment the place is taken until it leaves the longest
 * window. Taken before the code is sent, in one transaction with the check, so codes in flight
 * count; given back (deleted) when the delivery fails.
 */
export interface CodePlaceTable {
  tenant_slug: string;
  scope: 'destination' | 'ip' | 'destination_country';
  value: string;
  code_id: string;
  taken_at: number;
}

export interface Database {
  tenants: TenantTable;
  clients: ClientTable;
  accounts: AccountTable;
  identifiers: IdentifierTable;
  credentials: CredentialTable;
  federated_identities: FederatedIdentityTable;
  terms: TermsTable;
  terms_acceptances: TermsAcceptanceTable;
  oidc_models: OidcModelTable;
  signing_keys: SigningKeyTable;
  audit_events: AuditEventTable;
  one_time_codes: OneTimeCodeTable;
  login_throttles: LoginThrottleTable;
  code_places: CodePlaceTable;
}
