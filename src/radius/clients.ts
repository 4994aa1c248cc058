// Which provider a datagram belongs to, by its source address: the most specific
// `client_networks` entry across all providers wins, ties go to the provider listed first
// (authentik sorted by address length, not prefix length, so overlapping networks matched
// whichever came first: #22853). An IPv4 client never matches an IPv6 range, as in authentik.
import { CidrError, cidrContains, formatIp, parseCidr, parseIp, type Cidr } from '../net/cidr.ts';

export interface ClientMatch<P> {
  readonly provider: P;
  readonly network: string;
  /** The client address, IPv4-mapped IPv6 written as IPv4. */
  readonly address: string;
}

export interface InvalidNetwork {
  readonly provider: string;
  readonly entry: string;
  readonly reason: string;
}

interface Entry<P> {
  readonly cidr: Cidr;
  readonly provider: P;
}

export class ClientTable<P extends { readonly name: string; readonly client_networks: string }> {
  private readonly v4: Entry<P>[] = [];
  private readonly v6: Entry<P>[] = [];
  /** Entries that did not parse; the caller logs them once per refresh. */
  readonly invalid: InvalidNetwork[] = [];

  constructor(providers: readonly P[]) {
    for (const provider of providers) {
      for (const raw of provider.client_networks.split(',')) {
        const entry = raw.trim();
        if (entry === '') continue;
        try {
          // A bare address is a /32 or /128 (authentik rejected it and could crash).
          const cidr = parseCidr(entry);
          (cidr.family === 4 ? this.v4 : this.v6).push({ cidr, provider });
        } catch (err) {
          this.invalid.push({ provider: provider.name, entry, reason: err instanceof CidrError ? err.message : String(err) });
        }
      }
    }
    // Most specific first; the sort is stable, so equal prefixes keep the providers' order.
    this.v4.sort((a, b) => b.cidr.bits - a.cidr.bits);
    this.v6.sort((a, b) => b.cidr.bits - a.cidr.bits);
  }

  match(address: string): ClientMatch<P> | undefined {
    const ip = parseIp(address);
    if (!ip) return undefined;
    for (const e of ip.family === 4 ? this.v4 : this.v6) {
      if (cidrContains(e.cidr, ip)) return { provider: e.provider, network: e.cidr.text, address: formatIp(ip.value) };
    }
    return undefined;
  }
}
