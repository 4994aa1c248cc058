// Who a connection is bound as. Kept per connection, never shared by DN (authentik shared one
// record per DN across connections, so a failed bind on one broke searches on the others).
import type { BoundSession } from '../server/handler.ts';

export interface BoundIdentity {
  readonly userPk: number;
  readonly username: string;
  /** Member of the provider's search group: may search the whole directory. */
  readonly canSearch: boolean;
  /** The `authentik_session` the bind flow created; ended on unbind. Absent for cached binds. */
  readonly coreSession: string | undefined;
}

export interface LdapSession extends BoundSession {
  /** Which provider (by pk) and outpost the bind went through. */
  readonly providerPk: number;
  readonly outpostPk: string;
  readonly identity: BoundIdentity;
}
