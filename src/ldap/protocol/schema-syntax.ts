/**
 * A small parser for RFC 4512 §4.1 schema definitions (attributeTypes, objectClasses,
 * ldapSyntaxes, matchingRules values). Strict by default: field order, keyword spelling,
 * numericoid/descr forms, qdstring escapes, required spaces, and the semantic rules
 * "SUP or SYNTAX is required" and "NO-USER-MODIFICATION needs an operational USAGE".
 *
 * One relaxation is available: `allowNonKeystringNames` accepts quoted NAMEs that are
 * not RFC 4512 `descr`s (such as `goauthentik.io/ldap/user`), which is what lenient
 * real-world parsers (OpenLDAP's libldap, python-ldap, ldap3, Apache Directory Studio)
 * do for quoted names. Unquoted references (SUP/MUST/MAY/EQUALITY...) are always strict.
 */

export type DefinitionKind = 'attributeType' | 'objectClass' | 'ldapSyntax' | 'matchingRule';

export interface SchemaDefinition {
  readonly kind: DefinitionKind;
  readonly oid: string;
  readonly names: readonly string[];
  /** Keyword fields: string lists for valued fields, `true` for flags (SINGLE-VALUE ...). */
  readonly fields: ReadonlyMap<string, readonly string[] | true>;
  readonly extensions: ReadonlyMap<string, readonly string[]>;
}

export class SchemaSyntaxError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`schema definition: ${message} at position ${position}`);
    this.name = 'SchemaSyntaxError';
    this.position = position;
  }
}

export interface SchemaParseOptions {
  readonly allowNonKeystringNames?: boolean;
}

interface Token {
  readonly kind: '(' | ')' | '$' | 'q' | 'w';
  readonly text: string;
  readonly pos: number;
  readonly spaceBefore: boolean;
}

const KEYSTRING = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;
const NOIDLEN = /^((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+)(?:\{(?:0|[1-9][0-9]*)\})?$/;
const XSTRING = /^X-[A-Za-z_-]+$/;
const LOOSE_NAME = /^[^\s'\\()$]+$/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const start = i;
    while (src[i] === ' ') i++;
    const spaceBefore = i > start;
    if (i >= src.length) break;
    const c = src[i]!;
    if (c === '(' || c === ')' || c === '$') {
      out.push({ kind: c, text: c, pos: i, spaceBefore });
      i++;
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new SchemaSyntaxError('unterminated quoted string', i);
      out.push({ kind: 'q', text: src.slice(i + 1, end), pos: i, spaceBefore });
      i = end + 1;
    } else if (/[\t\n\r]/.test(c)) {
      throw new SchemaSyntaxError('only SPACE may separate tokens', i);
    } else {
      let j = i;
      while (j < src.length && !" ()$'".includes(src[j]!)) j++;
      out.push({ kind: 'w', text: src.slice(i, j), pos: i, spaceBefore });
      i = j;
    }
  }
  return out;
}

const FIELD_ORDER: Record<DefinitionKind, readonly string[]> = {
  attributeType: [
    'NAME',
    'DESC',
    'OBSOLETE',
    'SUP',
    'EQUALITY',
    'ORDERING',
    'SUBSTR',
    'SYNTAX',
    'SINGLE-VALUE',
    'COLLECTIVE',
    'NO-USER-MODIFICATION',
    'USAGE',
  ],
  objectClass: ['NAME', 'DESC', 'OBSOLETE', 'SUP', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY', 'MUST', 'MAY'],
  ldapSyntax: ['DESC'],
  matchingRule: ['NAME', 'DESC', 'OBSOLETE', 'SYNTAX'],
};

const FLAGS = new Set(['OBSOLETE', 'SINGLE-VALUE', 'COLLECTIVE', 'NO-USER-MODIFICATION', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY']);
const USAGES = new Set(['userApplications', 'directoryOperation', 'distributedOperation', 'dSAOperation']);

class Parser {
  private i = 0;
  private readonly toks: Token[];
  private readonly src: string;
  private readonly opts: SchemaParseOptions;
  constructor(src: string, opts: SchemaParseOptions) {
    this.src = src;
    this.toks = tokenize(src);
    this.opts = opts;
  }

  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private next(what: string): Token {
    const t = this.toks[this.i];
    if (t === undefined) throw new SchemaSyntaxError(`expected ${what}, got end of input`, this.src.length);
    this.i++;
    return t;
  }
  private requireSpace(t: Token): void {
    if (!t.spaceBefore) throw new SchemaSyntaxError(`a space is required before '${t.text}'`, t.pos);
  }

  private oid(t: Token): string {
    if (t.kind !== 'w' || !(KEYSTRING.test(t.text) || NUMERICOID.test(t.text))) {
      throw new SchemaSyntaxError(`invalid oid '${t.text}'`, t.pos);
    }
    return t.text;
  }

  /** oids = oid / ( LPAREN WSP oidlist WSP RPAREN ) */
  private oids(): string[] {
    const t = this.next('oid or (');
    this.requireSpace(t);
    if (t.kind !== '(') return [this.oid(t)];
    const out = [this.oid(this.next('oid'))];
    for (;;) {
      const n = this.next("'$' or ')'");
      if (n.kind === ')') return out;
      if (n.kind !== '$') throw new SchemaSyntaxError(`expected '$' or ')', got '${n.text}'`, n.pos);
      out.push(this.oid(this.next('oid')));
    }
  }

  private qdescr(t: Token): string {
    if (t.kind !== 'q') throw new SchemaSyntaxError(`expected a quoted name, got '${t.text}'`, t.pos);
    if (KEYSTRING.test(t.text)) return t.text;
    if (this.opts.allowNonKeystringNames === true && LOOSE_NAME.test(t.text)) return t.text;
    throw new SchemaSyntaxError(`'${t.text}' is not a valid descr`, t.pos);
  }

  /** qdescrs = qdescr / ( LPAREN WSP qdescrlist WSP RPAREN ) */
  private qdescrs(): string[] {
    const t = this.next('name');
    this.requireSpace(t);
    if (t.kind !== '(') return [this.qdescr(t)];
    const out: string[] = [];
    for (;;) {
      const n = this.next("name or ')'");
      if (n.kind === ')') break;
      if (out.length > 0) this.requireSpace(n);
      out.push(this.qdescr(n));
    }
    if (out.length === 0) throw new SchemaSyntaxError('empty NAME list', t.pos);
    return out;
  }

  private qdstring(t: Token): string {
    if (t.kind !== 'q' || t.text.length === 0) throw new SchemaSyntaxError('expected a non-empty quoted string', t.pos);
    // dstring = 1*( QS / QQ / QUTF8 ): a backslash may only start \5C / \5c or \27.
    for (let k = t.text.indexOf('\\'); k >= 0; k = t.text.indexOf('\\', k + 1)) {
      const esc = t.text.slice(k + 1, k + 3);
      if (esc !== '5C' && esc !== '5c' && esc !== '27') throw new SchemaSyntaxError('invalid escape in quoted string', t.pos + 1 + k);
      k += 2;
    }
    return t.text.replace(/\\(5[Cc]|27)/g, (_m, e: string) => (e === '27' ? "'" : '\\'));
  }

  parse(kind: DefinitionKind): SchemaDefinition {
    const open = this.next('(');
    if (open.kind !== '(') throw new SchemaSyntaxError("expected '('", open.pos);
    const oidTok = this.next('numericoid');
    if (oidTok.kind !== 'w' || !NUMERICOID.test(oidTok.text)) throw new SchemaSyntaxError(`expected a numericoid, got '${oidTok.text}'`, oidTok.pos);
    const order = FIELD_ORDER[kind];
    let orderIdx = 0;
    let names: string[] = [];
    const fields = new Map<string, readonly string[] | true>();
    const extensions = new Map<string, readonly string[]>();
    let kindSeen = false;
    for (;;) {
      const t = this.next("a keyword or ')'");
      if (t.kind === ')') break;
      if (t.kind !== 'w') throw new SchemaSyntaxError(`unexpected '${t.text}'`, t.pos);
      this.requireSpace(t);
      const kw = t.text;
      if (XSTRING.test(kw)) {
        // extensions = *( SP xstring SP qdstrings ); they come after all standard fields.
        orderIdx = order.length;
        extensions.set(kw, this.qdstrings());
        continue;
      }
      const idx = order.indexOf(kw);
      if (idx < 0) throw new SchemaSyntaxError(`unknown keyword '${kw}'`, t.pos);
      if (idx < orderIdx) throw new SchemaSyntaxError(`'${kw}' is out of order or repeated`, t.pos);
      orderIdx = idx + 1;
      if (kind === 'objectClass' && (kw === 'ABSTRACT' || kw === 'STRUCTURAL' || kw === 'AUXILIARY')) {
        if (kindSeen) throw new SchemaSyntaxError('more than one kind', t.pos);
        kindSeen = true;
        orderIdx = order.indexOf('MUST');
      }
      if (FLAGS.has(kw)) {
        fields.set(kw, true);
        continue;
      }
      switch (kw) {
        case 'NAME':
          names = this.qdescrs();
          break;
        case 'DESC': {
          const v = this.next('quoted string');
          this.requireSpace(v);
          fields.set(kw, [this.qdstring(v)]);
          break;
        }
        case 'SUP':
          if (kind === 'objectClass') fields.set(kw, this.oids());
          else {
            const v = this.next('oid');
            this.requireSpace(v);
            fields.set(kw, [this.oid(v)]);
          }
          break;
        case 'EQUALITY':
        case 'ORDERING':
        case 'SUBSTR': {
          const v = this.next('oid');
          this.requireSpace(v);
          fields.set(kw, [this.oid(v)]);
          break;
        }
        case 'SYNTAX': {
          const v = this.next('syntax oid');
          this.requireSpace(v);
          const re = kind === 'matchingRule' ? NUMERICOID : NOIDLEN;
          if (v.kind !== 'w' || !re.test(v.text)) throw new SchemaSyntaxError(`invalid SYNTAX '${v.text}'`, v.pos);
          fields.set(kw, [v.text]);
          break;
        }
        case 'USAGE': {
          const v = this.next('usage');
          this.requireSpace(v);
          if (v.kind !== 'w' || !USAGES.has(v.text)) throw new SchemaSyntaxError(`invalid USAGE '${v.text}'`, v.pos);
          fields.set(kw, [v.text]);
          break;
        }
        case 'MUST':
        case 'MAY':
          fields.set(kw, this.oids());
          break;
      }
    }
    const rest = this.peek();
    if (rest !== undefined) throw new SchemaSyntaxError('trailing characters after the definition', rest.pos);
    if (kind === 'attributeType') {
      if (!fields.has('SUP') && !fields.has('SYNTAX')) throw new SchemaSyntaxError('attribute type needs SUP or SYNTAX', 0);
      const usage = fields.get('USAGE');
      const operational = usage !== undefined && usage !== true && usage[0] !== 'userApplications';
      if (fields.has('NO-USER-MODIFICATION') && !operational) {
        throw new SchemaSyntaxError('NO-USER-MODIFICATION requires an operational USAGE', 0);
      }
      if (fields.has('COLLECTIVE') && operational) throw new SchemaSyntaxError('COLLECTIVE requires userApplications', 0);
    }
    if (kind === 'matchingRule' && !fields.has('SYNTAX')) throw new SchemaSyntaxError('matching rule needs SYNTAX', 0);
    return { kind, oid: oidTok.text, names, fields, extensions };
  }

  /** qdstrings = qdstring / ( LPAREN WSP qdstringlist WSP RPAREN ) */
  private qdstrings(): string[] {
    const t = this.next('quoted string');
    this.requireSpace(t);
    if (t.kind !== '(') return [this.qdstring(t)];
    const out: string[] = [];
    for (;;) {
      const n = this.next("quoted string or ')'");
      if (n.kind === ')') break;
      if (out.length > 0) this.requireSpace(n);
      out.push(this.qdstring(n));
    }
    if (out.length === 0) throw new SchemaSyntaxError('empty list', t.pos);
    return out;
  }
}

/** Parses one schema definition value. Throws `SchemaSyntaxError`. */
export function parseSchemaDefinition(kind: DefinitionKind, src: string, options: SchemaParseOptions = {}): SchemaDefinition {
  return new Parser(src, options).parse(kind);
}
