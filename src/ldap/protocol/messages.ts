/**
 * LDAPMessage codec (RFC 4511 §4 and appendix B): requests are decoded into a
 * discriminated union, responses are encoded from plain objects.
 *
 * Decoding follows RFC 4511 §4: trailing SEQUENCE components with unrecognised tags are
 * ignored (implied extensibility); anything structurally wrong is a `LdapDecodeError`
 * that carries the messageID and the operation whenever they could be read, so the
 * server can answer protocolError for the right operation or send a Notice of
 * Disconnection.
 */

import { BerError, BerReader, BerWriter, MAX_INT, UniversalTag, type BerLimits } from './ber.ts';
import { readFilter, writeFilter, type Filter } from './filter.ts';

// ---------------------------------------------------------------------------------------
// Constants

export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  referral: 10,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  saslBindInProgress: 14,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  aliasProblem: 33,
  invalidDNSyntax: 34,
  aliasDereferencingProblem: 36,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

/** protocolOp identifier octets. */
export const OpTag = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  searchResultReference: 0x73,
  modifyRequest: 0x66,
  modifyResponse: 0x67,
  addRequest: 0x68,
  addResponse: 0x69,
  delRequest: 0x4a,
  delResponse: 0x6b,
  modifyDNRequest: 0x6c,
  modifyDNResponse: 0x6d,
  compareRequest: 0x6e,
  compareResponse: 0x6f,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
  intermediateResponse: 0x79,
} as const;

const CONTROLS_TAG = 0xa0;

/**
 * Search scopes. 3 is the subordinate-subtree scope of draft-sermersheim-ldap-subordinate-scope
 * (OpenLDAP, ldapts and others send it for "children"); it is decoded so the server can
 * decide what to do with it.
 */
export const SearchScope = { baseObject: 0, singleLevel: 1, wholeSubtree: 2, subordinateSubtree: 3 } as const;
export type SearchScope = (typeof SearchScope)[keyof typeof SearchScope];

export const DerefAliases = { neverDerefAliases: 0, derefInSearching: 1, derefFindingBaseObj: 2, derefAlways: 3 } as const;
export type DerefAliases = (typeof DerefAliases)[keyof typeof DerefAliases];

export const ModifyOperation = { add: 0, delete: 1, replace: 2, increment: 3 } as const;
export type ModifyOperation = (typeof ModifyOperation)[keyof typeof ModifyOperation];

/** OID of the unsolicited Notice of Disconnection (RFC 4511 §4.4.1). */
export const NOTICE_OF_DISCONNECTION_OID = '1.3.6.1.4.1.1466.20036';

// ---------------------------------------------------------------------------------------
// Types

export interface Control {
  readonly oid: string;
  readonly criticality: boolean;
  readonly value: Buffer | undefined;
}

export interface PartialAttribute {
  readonly type: string;
  readonly values: readonly Buffer[];
}

export type BindAuthentication =
  | { readonly method: 'simple'; readonly password: Buffer }
  | { readonly method: 'sasl'; readonly mechanism: string; readonly credentials: Buffer | undefined };

export interface BindRequest {
  readonly type: 'bind';
  readonly version: number;
  readonly name: string;
  readonly authentication: BindAuthentication;
}
export interface UnbindRequest {
  readonly type: 'unbind';
}
export interface SearchRequest {
  readonly type: 'search';
  readonly baseObject: string;
  readonly scope: SearchScope;
  readonly derefAliases: DerefAliases;
  readonly sizeLimit: number;
  readonly timeLimit: number;
  readonly typesOnly: boolean;
  readonly filter: Filter;
  readonly attributes: readonly string[];
}
export interface ModifyRequest {
  readonly type: 'modify';
  readonly object: string;
  readonly changes: readonly { readonly operation: ModifyOperation; readonly modification: PartialAttribute }[];
}
export interface AddRequest {
  readonly type: 'add';
  readonly entry: string;
  readonly attributes: readonly PartialAttribute[];
}
export interface DelRequest {
  readonly type: 'delete';
  readonly entry: string;
}
export interface ModifyDNRequest {
  readonly type: 'modifyDN';
  readonly entry: string;
  readonly newRdn: string;
  readonly deleteOldRdn: boolean;
  readonly newSuperior: string | undefined;
}
export interface CompareRequest {
  readonly type: 'compare';
  readonly entry: string;
  readonly attribute: string;
  readonly value: Buffer;
}
export interface AbandonRequest {
  readonly type: 'abandon';
  readonly abandonId: number;
}
export interface ExtendedRequest {
  readonly type: 'extended';
  readonly name: string;
  readonly value: Buffer | undefined;
}

export type LdapRequest =
  | BindRequest
  | UnbindRequest
  | SearchRequest
  | ModifyRequest
  | AddRequest
  | DelRequest
  | ModifyDNRequest
  | CompareRequest
  | AbandonRequest
  | ExtendedRequest;

export type RequestType = LdapRequest['type'];

export interface LdapMessage {
  readonly messageId: number;
  readonly request: LdapRequest;
  /** All controls attached to the message, known or not (the server decides). */
  readonly controls: readonly Control[];
}

export type DecodeErrorKind =
  /** BER structure broken before messageID/operation could be identified. */
  | 'malformed'
  /** protocolOp tag is not a request this codec knows (or is a response). */
  | 'unknown-operation'
  /** A known operation whose contents are invalid. */
  | 'invalid-operation'
  /** The controls field is invalid. */
  | 'invalid-controls';

export class LdapDecodeError extends Error {
  readonly kind: DecodeErrorKind;
  /** The messageID when it could be read. */
  readonly messageId: number | undefined;
  /** The protocolOp identifier octet when it could be read. */
  readonly opTag: number | undefined;
  /** The request type when the tag is known. */
  readonly operation: RequestType | undefined;
  readonly berError: BerError | undefined;
  constructor(
    kind: DecodeErrorKind,
    message: string,
    info: { messageId?: number; opTag?: number; operation?: RequestType; berError?: BerError } = {},
  ) {
    super(message);
    this.name = 'LdapDecodeError';
    this.kind = kind;
    this.messageId = info.messageId;
    this.opTag = info.opTag;
    this.operation = info.operation;
    this.berError = info.berError;
  }
}

const REQUEST_TAGS: ReadonlyMap<number, RequestType> = new Map<number, RequestType>([
  [OpTag.bindRequest, 'bind'],
  [OpTag.unbindRequest, 'unbind'],
  [OpTag.searchRequest, 'search'],
  [OpTag.modifyRequest, 'modify'],
  [OpTag.addRequest, 'add'],
  [OpTag.delRequest, 'delete'],
  [OpTag.modifyDNRequest, 'modifyDN'],
  [OpTag.compareRequest, 'compare'],
  [OpTag.abandonRequest, 'abandon'],
  [OpTag.extendedRequest, 'extended'],
]);

/** The response protocolOp tag for a request type (undefined for unbind/abandon). */
export function responseTagFor(type: RequestType): number | undefined {
  switch (type) {
    case 'bind':
      return OpTag.bindResponse;
    case 'search':
      return OpTag.searchResultDone;
    case 'modify':
      return OpTag.modifyResponse;
    case 'add':
      return OpTag.addResponse;
    case 'delete':
      return OpTag.delResponse;
    case 'modifyDN':
      return OpTag.modifyDNResponse;
    case 'compare':
      return OpTag.compareResponse;
    case 'extended':
      return OpTag.extendedResponse;
    case 'unbind':
    case 'abandon':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Decoding

export type DecodeResult = { readonly ok: true; readonly message: LdapMessage } | { readonly ok: false; readonly error: LdapDecodeError };

/** Decodes one complete LDAPMessage PDU; never throws (see `decodeMessage`). */
export function tryDecodeMessage(pdu: Buffer, limits?: Partial<BerLimits>): DecodeResult {
  try {
    return { ok: true, message: decodeMessage(pdu, limits) };
  } catch (e) {
    if (e instanceof LdapDecodeError) return { ok: false, error: e };
    throw e;
  }
}

/**
 * Decodes one complete LDAPMessage PDU (exactly the bytes `nextPdu` reported).
 * Throws only `LdapDecodeError`.
 */
export function decodeMessage(pdu: Buffer, limits?: Partial<BerLimits>): LdapMessage {
  let messageId: number | undefined;
  let opTag: number | undefined;
  let operation: RequestType | undefined;
  let stage: 'envelope' | 'operation' | 'controls' = 'envelope';
  try {
    const top = new BerReader(pdu, limits === undefined ? undefined : { limits });
    const msg = top.readConstructed(UniversalTag.sequence);
    if (!top.atEnd()) throw new BerError('trailing-data', top.offset, 'bytes after the LDAPMessage');
    messageId = msg.readUnsignedInt();
    const t = msg.peekTag();
    if (t === undefined) throw new BerError('truncated', msg.offset, 'missing protocolOp');
    opTag = t;
    operation = REQUEST_TAGS.get(t);
    if (operation === undefined) {
      throw new LdapDecodeError('unknown-operation', `unsupported protocolOp 0x${t.toString(16)}`, { messageId, opTag });
    }
    stage = 'operation';
    const request = readRequest(msg, operation);
    stage = 'controls';
    const controls: Control[] = [];
    if (msg.peekTag() === CONTROLS_TAG) {
      const cs = msg.readConstructed(CONTROLS_TAG);
      while (!cs.atEnd()) controls.push(readControl(cs));
    }
    // Further unknown trailing components are ignored (RFC 4511 §4), but must be well-formed.
    while (!msg.atEnd()) msg.skip();
    return { messageId, request, controls };
  } catch (e) {
    if (e instanceof LdapDecodeError) throw e;
    if (e instanceof BerError) {
      const kind: DecodeErrorKind = stage === 'envelope' ? 'malformed' : stage === 'operation' ? 'invalid-operation' : 'invalid-controls';
      throw new LdapDecodeError(kind, e.message, { messageId, opTag, operation, berError: e });
    }
    throw e;
  }
}

function readControl(r: BerReader): Control {
  const c = r.readConstructed();
  const oid = c.readString();
  let criticality = false;
  if (c.peekTag() === UniversalTag.boolean) criticality = c.readBoolean();
  let value: Buffer | undefined;
  if (c.peekTag() === UniversalTag.octetString) value = c.readOctetString();
  if (oid === '') throw new BerError('bad-control', c.offset, 'empty controlType');
  return { oid, criticality, value };
}

function readPartialAttribute(r: BerReader, requireValues: boolean): PartialAttribute {
  const a = r.readConstructed();
  const type = a.readString();
  const vs = a.readConstructed(UniversalTag.set);
  const values: Buffer[] = [];
  while (!vs.atEnd()) values.push(vs.readOctetString());
  if (requireValues && values.length === 0) throw new BerError('empty-attribute', vs.offset, `attribute ${type} has no values`);
  return { type, values };
}

function enumIn<T extends number>(v: number, max: number, at: number, what: string): T {
  if (v < 0 || v > max) throw new BerError('bad-enumerated', at, `${what} ${v}`);
  return v as T;
}

function readRequest(msg: BerReader, type: RequestType): LdapRequest {
  switch (type) {
    case 'bind': {
      const r = msg.readConstructed(OpTag.bindRequest);
      const at = r.offset;
      const version = r.readInteger();
      if (version < 1 || version > 127) throw new BerError('bad-version', at, `version ${version}`);
      const name = r.readString();
      const t = r.peekTag();
      let authentication: BindAuthentication;
      if (t === 0x80) {
        authentication = { method: 'simple', password: r.readOctetString(0x80) };
      } else if (t === 0xa3) {
        const s = r.readConstructed(0xa3);
        const mechanism = s.readString();
        const credentials = s.peekTag() === UniversalTag.octetString ? s.readOctetString() : undefined;
        authentication = { method: 'sasl', mechanism, credentials };
      } else {
        throw new BerError('bad-authentication', r.offset, `authentication choice ${t === undefined ? 'missing' : `0x${t.toString(16)}`}`);
      }
      return { type, version, name, authentication };
    }
    case 'unbind':
      msg.readNull(OpTag.unbindRequest);
      return { type };
    case 'search': {
      const r = msg.readConstructed(OpTag.searchRequest);
      const baseObject = r.readString();
      let at = r.offset;
      const scope = enumIn<SearchScope>(r.readEnumerated(), 3, at, 'scope');
      at = r.offset;
      const derefAliases = enumIn<DerefAliases>(r.readEnumerated(), 3, at, 'derefAliases');
      const sizeLimit = r.readUnsignedInt();
      const timeLimit = r.readUnsignedInt();
      const typesOnly = r.readBoolean();
      const filter = readFilter(r);
      const as = r.readConstructed();
      const attributes: string[] = [];
      while (!as.atEnd()) attributes.push(as.readString());
      return { type, baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes };
    }
    case 'modify': {
      const r = msg.readConstructed(OpTag.modifyRequest);
      const object = r.readString();
      const cs = r.readConstructed();
      const changes: { operation: ModifyOperation; modification: PartialAttribute }[] = [];
      while (!cs.atEnd()) {
        const c = cs.readConstructed();
        const at = c.offset;
        const operation = enumIn<ModifyOperation>(c.readEnumerated(), 3, at, 'operation');
        changes.push({ operation, modification: readPartialAttribute(c, false) });
      }
      return { type, object, changes };
    }
    case 'add': {
      const r = msg.readConstructed(OpTag.addRequest);
      const entry = r.readString();
      const as = r.readConstructed();
      const attributes: PartialAttribute[] = [];
      while (!as.atEnd()) attributes.push(readPartialAttribute(as, true));
      return { type, entry, attributes };
    }
    case 'delete':
      return { type, entry: msg.readString(OpTag.delRequest) };
    case 'modifyDN': {
      const r = msg.readConstructed(OpTag.modifyDNRequest);
      const entry = r.readString();
      const newRdn = r.readString();
      const deleteOldRdn = r.readBoolean();
      const newSuperior = r.peekTag() === 0x80 ? r.readString(0x80) : undefined;
      return { type, entry, newRdn, deleteOldRdn, newSuperior };
    }
    case 'compare': {
      const r = msg.readConstructed(OpTag.compareRequest);
      const entry = r.readString();
      const ava = r.readConstructed();
      const attribute = ava.readString();
      const value = ava.readOctetString();
      return { type, entry, attribute, value };
    }
    case 'abandon': {
      const at = msg.offset;
      const abandonId = msg.readInteger(OpTag.abandonRequest);
      if (abandonId < 0 || abandonId > MAX_INT) throw new BerError('integer-out-of-range', at);
      return { type, abandonId };
    }
    case 'extended': {
      const r = msg.readConstructed(OpTag.extendedRequest);
      const name = r.readString(0x80);
      const value = r.peekTag() === 0x81 ? r.readOctetString(0x81) : undefined;
      return { type, name, value };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Encoding

export interface LdapResult {
  readonly resultCode: number;
  readonly matchedDN?: string;
  readonly diagnosticMessage?: string;
  readonly referral?: readonly string[];
}

export interface BindResponse extends LdapResult {
  readonly type: 'bind';
  readonly serverSaslCreds?: Buffer;
}
export interface SimpleResponse extends LdapResult {
  readonly type: 'searchDone' | 'modify' | 'add' | 'delete' | 'modifyDN' | 'compare';
}
export interface ExtendedResponse extends LdapResult {
  readonly type: 'extended';
  readonly responseName?: string;
  readonly responseValue?: Buffer | string;
}
export interface SearchResultEntry {
  readonly type: 'searchEntry';
  readonly objectName: string;
  readonly attributes: readonly EntryAttribute[];
  /** When true only attribute descriptions are sent (SearchRequest.typesOnly). */
  readonly typesOnly?: boolean;
}
export interface SearchResultReference {
  readonly type: 'searchReference';
  readonly uris: readonly string[];
}

export interface EntryAttribute {
  readonly type: string;
  readonly values: readonly (string | Buffer)[];
}

export type LdapResponse = BindResponse | SimpleResponse | ExtendedResponse | SearchResultEntry | SearchResultReference;

const SIMPLE_TAGS = {
  searchDone: OpTag.searchResultDone,
  modify: OpTag.modifyResponse,
  add: OpTag.addResponse,
  delete: OpTag.delResponse,
  modifyDN: OpTag.modifyDNResponse,
  compare: OpTag.compareResponse,
} as const;

function writeResultFields(w: BerWriter, r: LdapResult): void {
  w.writeEnumerated(r.resultCode);
  w.writeOctetString(r.matchedDN ?? '');
  w.writeOctetString(r.diagnosticMessage ?? '');
  if (r.referral !== undefined && r.referral.length > 0) {
    w.start(0xa3);
    for (const u of r.referral) w.writeOctetString(u);
    w.end();
  }
}

function writeControls(w: BerWriter, controls: readonly Control[] | undefined): void {
  if (controls === undefined || controls.length === 0) return;
  w.start(CONTROLS_TAG);
  for (const c of controls) {
    w.start();
    w.writeOctetString(c.oid);
    if (c.criticality) w.writeBoolean(true);
    if (c.value !== undefined) w.writeOctetString(c.value);
    w.end();
  }
  w.end();
}

function writeProtocolOp(w: BerWriter, op: LdapResponse): void {
  switch (op.type) {
    case 'bind':
      w.start(OpTag.bindResponse);
      writeResultFields(w, op);
      if (op.serverSaslCreds !== undefined) w.writeOctetString(op.serverSaslCreds, 0x87);
      w.end();
      return;
    case 'extended':
      w.start(OpTag.extendedResponse);
      writeResultFields(w, op);
      if (op.responseName !== undefined) w.writeOctetString(op.responseName, 0x8a);
      if (op.responseValue !== undefined) w.writeOctetString(op.responseValue, 0x8b);
      w.end();
      return;
    case 'searchEntry':
      w.start(OpTag.searchResultEntry);
      w.writeOctetString(op.objectName);
      w.start();
      for (const a of op.attributes) writePartialAttribute(w, a, op.typesOnly === true);
      w.end();
      w.end();
      return;
    case 'searchReference':
      w.start(OpTag.searchResultReference);
      for (const u of op.uris) w.writeOctetString(u);
      w.end();
      return;
    default:
      w.start(SIMPLE_TAGS[op.type]);
      writeResultFields(w, op);
      w.end();
  }
}

/**
 * Appends one encoded LDAPMessage to `writer` (useful to batch many SearchResultEntry
 * messages into one socket write).
 */
export function writeMessage(writer: BerWriter, messageId: number, response: LdapResponse, controls?: readonly Control[]): void {
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > MAX_INT) {
    throw new RangeError(`messageId ${messageId} outside 0..maxInt`);
  }
  writer.start();
  writer.writeInteger(messageId);
  writeProtocolOp(writer, response);
  writeControls(writer, controls);
  writer.end();
}

/** Encodes one LDAPMessage carrying `response`. */
export function encodeMessage(messageId: number, response: LdapResponse, controls?: readonly Control[]): Buffer {
  const w = new BerWriter(256);
  writeMessage(w, messageId, response, controls);
  return w.toBuffer();
}

/**
 * The unsolicited Notice of Disconnection (RFC 4511 §4.4.1): an ExtendedResponse with
 * messageID 0 and responseName 1.3.6.1.4.1.1466.20036.
 */
export function encodeNoticeOfDisconnection(resultCode: number, diagnosticMessage = ''): Buffer {
  return encodeMessage(0, { type: 'extended', resultCode, diagnosticMessage, responseName: NOTICE_OF_DISCONNECTION_OID });
}

/**
 * A response for a request type carrying only an LDAPResult, e.g. to refuse an operation.
 * Returns undefined for unbind and abandon (which have no response).
 */
export function resultResponseFor(type: RequestType, result: LdapResult): LdapResponse | undefined {
  switch (type) {
    case 'bind':
      return { type: 'bind', ...result };
    case 'search':
      return { type: 'searchDone', ...result };
    case 'extended':
      return { type: 'extended', ...result };
    case 'modify':
    case 'add':
    case 'delete':
    case 'modifyDN':
    case 'compare':
      return { type, ...result };
    case 'unbind':
    case 'abandon':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Request encoding (for tests and tools; the server only decodes requests)

/** Encodes a request message (mirror of `decodeMessage`). */
export function encodeRequest(messageId: number, request: LdapRequest, controls?: readonly Control[]): Buffer {
  const w = new BerWriter(256);
  w.start();
  w.writeInteger(messageId);
  switch (request.type) {
    case 'bind':
      w.start(OpTag.bindRequest);
      w.writeInteger(request.version);
      w.writeOctetString(request.name);
      if (request.authentication.method === 'simple') {
        w.writeOctetString(request.authentication.password, 0x80);
      } else {
        w.start(0xa3);
        w.writeOctetString(request.authentication.mechanism);
        if (request.authentication.credentials !== undefined) w.writeOctetString(request.authentication.credentials);
        w.end();
      }
      w.end();
      break;
    case 'unbind':
      w.writeNull(OpTag.unbindRequest);
      break;
    case 'search':
      w.start(OpTag.searchRequest);
      w.writeOctetString(request.baseObject);
      w.writeEnumerated(request.scope);
      w.writeEnumerated(request.derefAliases);
      w.writeInteger(request.sizeLimit);
      w.writeInteger(request.timeLimit);
      w.writeBoolean(request.typesOnly);
      writeFilter(w, request.filter);
      w.start();
      for (const a of request.attributes) w.writeOctetString(a);
      w.end();
      w.end();
      break;
    case 'modify':
      w.start(OpTag.modifyRequest);
      w.writeOctetString(request.object);
      w.start();
      for (const c of request.changes) {
        w.start();
        w.writeEnumerated(c.operation);
        writePartialAttribute(w, c.modification);
        w.end();
      }
      w.end();
      w.end();
      break;
    case 'add':
      w.start(OpTag.addRequest);
      w.writeOctetString(request.entry);
      w.start();
      for (const a of request.attributes) writePartialAttribute(w, a);
      w.end();
      w.end();
      break;
    case 'delete':
      w.writeOctetString(request.entry, OpTag.delRequest);
      break;
    case 'modifyDN':
      w.start(OpTag.modifyDNRequest);
      w.writeOctetString(request.entry);
      w.writeOctetString(request.newRdn);
      w.writeBoolean(request.deleteOldRdn);
      if (request.newSuperior !== undefined) w.writeOctetString(request.newSuperior, 0x80);
      w.end();
      break;
    case 'compare':
      w.start(OpTag.compareRequest);
      w.writeOctetString(request.entry);
      w.start();
      w.writeOctetString(request.attribute);
      w.writeOctetString(request.value);
      w.end();
      w.end();
      break;
    case 'abandon':
      w.writeInteger(request.abandonId, OpTag.abandonRequest);
      break;
    case 'extended':
      w.start(OpTag.extendedRequest);
      w.writeOctetString(request.name, 0x80);
      if (request.value !== undefined) w.writeOctetString(request.value, 0x81);
      w.end();
      break;
  }
  writeControls(w, controls);
  w.end();
  return w.toBuffer();
}

/** A PartialAttribute (`SEQUENCE { type, SET OF value }`): requests, SearchResultEntry, kept encodings. */
export function writePartialAttribute(w: BerWriter, a: { readonly type: string; readonly values: readonly (string | Buffer)[] }, typesOnly = false): void {
  w.start();
  w.writeOctetString(a.type);
  w.start(UniversalTag.set);
  if (!typesOnly) for (const v of a.values) w.writeOctetString(v);
  w.end();
  w.end();
}
