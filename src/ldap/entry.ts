// A directory entry as the outpost builds it: attribute names keep their spelling for the wire
// (`sAMAccountName`), lookups for filters are by key (lower case, alternative names mapped to
// the primary one: protocol/schema.ts attributeKey).
import { attributeKey, type BerWriter, type FilterEntry, type StoredAttribute } from './protocol/index.ts';

export interface Attribute {
  readonly type: string;
  readonly values: readonly string[];
  /** Operational attributes are returned only when asked for by name or with `+`. */
  readonly operational?: boolean;
}

export interface LdapEntry extends FilterEntry {
  readonly dn: string;
  readonly attributes: readonly Attribute[];
  /**
   * Entries of a cached directory keep their encoding (protocol/encoded-entries.ts): this
   * appends the entry's SearchResultEntry message for `messageId`, with the attributes
   * `selected` accepts, from that encoding (made on first use). False, having written nothing,
   * when the entry has none: the server encodes `attributes` itself.
   */
  writeEncoded?(w: BerWriter, messageId: number, selected: (a: StoredAttribute) => boolean): boolean;
}

/**
 * Build an entry. Later attributes with the same key (any case, or another name of the same
 * type) are merged into the first, keeping its spelling.
 */
export function makeEntry(dn: string, attributes: readonly Attribute[]): LdapEntry {
  const byName = new Map<string, Attribute>();
  const ordered: Attribute[] = [];
  for (const a of attributes) {
    const key = attributeKey(a.type);
    const prev = byName.get(key);
    if (prev) {
      const merged: Attribute = { ...prev, values: [...prev.values, ...a.values] };
      byName.set(key, merged);
      ordered[ordered.indexOf(prev)] = merged;
    } else {
      byName.set(key, a);
      ordered.push(a);
    }
  }
  return {
    dn,
    attributes: ordered,
    get: (lower) => byName.get(lower)?.values,
    keys: () => byName.keys(),
  };
}
