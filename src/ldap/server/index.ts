// The LDAP wire server: sockets, TLS, framing, limits. See handler.ts for the contract with
// the outpost's LDAP logic.
export type { BindOutcome, BoundSession, ClientInfo, LdapHandler, RequestContext, SearchOutcome } from './handler.ts';
export { DEFAULT_SUPPORTED_CONTROLS, DEFAULT_SUPPORTED_SEARCH_CONTROLS, LdapServer, type LdapServerOptions, type LdapServerPorts } from './server.ts';
export { DEFAULT_LDAP_LIMITS, resolveLimits, type LdapLimits } from './limits.ts';
export {
  createPrometheusServerMetrics,
  noopServerMetrics,
  resultName,
  type ConnectionRejectReason,
  type LdapServerMetrics,
  type ListenerKind,
  type OperationResult,
  type OperationType,
  type PduRejectReason,
} from './metrics.ts';
export { CidrError, CidrMatcher, cidrContains, formatIp, normalizeIp, parseCidr, parseCidrList, parseIp, type Cidr, type CidrMatch, type IpAddress } from '../../net/cidr.ts';
export {
  DEFAULT_PROXY_V2_MAX_LENGTH,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  encodeProxyHeader,
  parseProxyHeader,
  proxySignature,
  type ProxyEndpoint,
  type ProxyParseResult,
} from '../../net/proxy-protocol.ts';
export { attributeBaseName, isSelected, parseAttributeSelection, selectAttributes, type AttributeSelection } from './select.ts';
export {
  SELF_SIGNED_COMMON_NAME,
  SELF_SIGNED_ORGANIZATION,
  generateSelfSignedCertificate,
  type SelfSignedCertificate,
  type SelfSignedOptions,
} from './self-signed.ts';
export { PduReader, type PduReadResult } from './pdu-reader.ts';
export { LogLimiter, type LogDecision, type LogLimiterOptions } from '../../net/log-limiter.ts';
