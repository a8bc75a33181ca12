import type { Generated } from 'kysely';

/**
 * The typed database interface. Timestamps are ISO-8601 UTC strings (they sort
 * correctly as text on both SQLite and PostgreSQL); booleans are 0/1 integers so
 * the same queries serve both dialects.
 */
export interface Database {
  users: UsersTable;
  namespaces: NamespacesTable;
  memberships: MembershipsTable;
  tokens: TokensTable;
  audit_events: AuditEventsTable;
  audit_chain_head: AuditChainHeadTable;
  credentials: CredentialsTable;
  registries: RegistriesTable;
  credential_destinations: CredentialDestinationsTable;
  instance_settings: InstanceSettingsTable;
  key_checks: KeyChecksTable;
}

export type RoleName = 'VIEWER' | 'EDITOR' | 'OWNER';
export type TokenKind = 'API' | 'PERSONAL' | 'SESSION';

export interface UsersTable {
  id: string;
  username: string;
  display_name: string | null;
  password_hash: string | null;
  is_admin: number;
  disabled: number;
  created_at: string;
  updated_at: string;
}

export interface NamespacesTable {
  id: string;
  name: string;
  display_name: string | null;
  description: string | null;
  /** The user who created it (quotas count these); null when that is unknown. */
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  namespace_id: string;
  user_id: string;
  role: RoleName;
  created_at: string;
}

/** API tokens, personal access tokens and sessions share one table and one verification path. */
export interface TokensTable {
  id: string;
  kind: TokenKind;
  name: string | null;
  description: string | null;
  namespace_id: string | null;
  user_id: string | null;
  created_by: string | null;
  /** API token: its role. Personal token: its maxRole. Session: null. */
  role: RoleName | null;
  admin: number;
  enabled: number;
  secret_hash: string;
  secret_hint: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: string | null;
  secret_rotated_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  id: string;
  occurred_at: string;
  action: string;
  outcome: 'SUCCESS' | 'DENIED' | 'ERROR';
  actor_kind: string | null;
  actor_name: string | null;
  namespace: string | null;
  namespace_id: string | null;
  target: string | null;
  request_id: string;
  ip_address: string | null;
  user_agent: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
  /** The keyring key whose derived HMAC key sealed this event; null for events from before the chain was keyed. */
  chain_key_id: string | null;
}

/** One row: the hash of the newest audit event. Updating it serialises writers on every dialect. */
export interface AuditChainHeadTable {
  id: number;
  hash: string;
}

export type CredentialTypeName = 'REGISTRY' | 'GIT' | 'HETZNER' | 'OVH' | 'SSH_KEY';
export type ValidationStatusName = 'UNCHECKED' | 'VALID' | 'INVALID' | 'UNREACHABLE';

export interface CredentialsTable {
  id: string;
  namespace_id: string;
  name: string;
  type: CredentialTypeName;
  description: string | null;
  /** JSON object of the type's non-secret fields. */
  public_fields: string;
  /** Encrypted secret fields (null for SSH keys: their private half is never kept). */
  secret_ciphertext: string | null;
  secret_key_id: string | null;
  validation_status: ValidationStatusName;
  validation_message: string | null;
  last_validated_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface RegistriesTable {
  id: string;
  namespace_id: string;
  name: string;
  url: string;
  kind: 'HTTP' | 'OCI';
  credential_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A host a credential's current secret has been sent to; a new host is audited like a reveal. */
export interface CredentialDestinationsTable {
  credential_id: string;
  /** URL host: name or address, with the port when it is not the default. */
  host: string;
  first_sent_at: string;
}

/** A setting as the instance last saw it at start, and since when it has had that value. */
export interface InstanceSettingsTable {
  name: string;
  value: string;
  first_seen_at: string;
}

/** Binds a key id to one key: an HMAC under a key derived from it, which reveals nothing about the key. */
export interface KeyChecksTable {
  key_id: string;
  check_value: string;
  created_at: string;
}
