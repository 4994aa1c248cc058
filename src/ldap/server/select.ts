// Attribute selection for SearchResultEntry (RFC 4511 §4.5.1.8, RFC 3673). Pure.
//
// * empty list            → all user attributes (not operational ones)
// * `*`                   → all user attributes
// * `+`                   → all operational attributes (RFC 3673)
// * `1.1`                 → no attributes, only when it is the only selector; ignored otherwise
// * a name (`cn`, `MAIL`) → that attribute, user or operational, matched case-insensitively
//                           with options stripped (`cn;lang-en` selects `cn`), and by any
//                           name or the OID the schema gives its type (`commonName`,
//                           `2.5.4.3` select `cn`)
// Selectors combine (`* +`, `cn +`, `* createTimestamp`). Returned attributes keep the
// server's spelling and order. Empty strings are ignored (a list of only empty strings is
// treated as an empty list, as authentik's library does). An entry holding a comma-separated
// list (`cn,mail`, as some clients send a configured list) is taken as those selectors, as
// authentik does since 2025.8 (#15000): no attribute description contains a comma (RFC 4512).
import type { Attribute } from '../entry.ts';
import { attributeKey } from '../protocol/index.ts';

export interface AttributeSelection {
  readonly allUser: boolean;
  readonly allOperational: boolean;
  /** Attribute keys (protocol attributeKey: lower case, options stripped, primary name) selected by name. */
  readonly names: ReadonlySet<string>;
}

/** Strips options, lower-cases and maps other names of a type to its primary one: `CN;lang-en`, `commonName` → `cn`. */
export function attributeBaseName(description: string): string {
  return attributeKey(description.trim());
}

export function parseAttributeSelection(requested: readonly string[]): AttributeSelection {
  const selectors = requested.flatMap((r) => (r.includes(',') ? r.split(',') : [r])).map((r) => r.trim()).filter((r) => r !== '');
  if (selectors.length === 0) return { allUser: true, allOperational: false, names: new Set() };
  let allUser = false;
  let allOperational = false;
  const names = new Set<string>();
  for (const s of selectors) {
    if (s === '*') allUser = true;
    else if (s === '+') allOperational = true;
    else if (s === '1.1') continue;
    else {
      const base = attributeBaseName(s);
      if (base !== '') names.add(base);
    }
  }
  return { allUser, allOperational, names };
}

export function isSelected(attribute: Pick<Attribute, 'type' | 'operational'>, selection: AttributeSelection): boolean {
  if (attribute.operational === true ? selection.allOperational : selection.allUser) return true;
  return selection.names.size > 0 && selection.names.has(attributeKey(attribute.type));
}

/** The attributes of an entry that `selection` asks for, in the entry's order. */
export function selectAttributes(attributes: readonly Attribute[], selection: AttributeSelection): Attribute[] {
  return attributes.filter((a) => isSelected(a, selection));
}
