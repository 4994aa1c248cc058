// Who a connection is bound as. Kept per connection, never shared by DN (authentik shared one
// record per DN across connections, so a failed bind on one broke searches on the others).
import type { BoundSession } from '../server/handler.ts';

export interface BoundIdentity {
  readonly userPk: number;
  readonly username: string;
  /**
   * May search the whole directory: a member of the provider's search group (authentik 2024.4),
   * or holding `search_full_directory` on the provider or globally (2024.8+).
   */
  readonly canSearch: boolean;
  /**
   * The `authentik_session` the bind flow created, when this connection is the one to end it on
   * unbind. Absent for cached binds: the bind cache owns that session (bind-cache.ts).
   */
  readonly coreSession: string | undefined;
  /**
   * authentik's hashed id of the core session that authorised the bind (what SESSION_END names),
   * for cached binds too. Absent when the core set no session cookie carrying one.
   */
  readonly sessionId: string | undefined;
}

export interface LdapSession extends BoundSession {
  /** Which provider (by pk) and outpost the bind went through. */
  readonly providerPk: number;
  readonly outpostPk: string;
  readonly identity: BoundIdentity;
}
