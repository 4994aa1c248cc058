// ClientTable: which provider a datagram belongs to, by its source address (spec §1.3–1.4).
// We implement the documented intent, not authentik's bug #22853: the longest prefix across
// every provider wins, ties go to the provider listed first (the API lists them by name).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientTable } from '../../src/radius/clients.ts';

interface P {
  readonly name: string;
  readonly client_networks: string;
}

const p = (name: string, client_networks: string): P => ({ name, client_networks });

/** The provider name `address` resolves to, or undefined. */
function who(table: ClientTable<P>, address: string): string | undefined {
  return table.match(address)?.provider.name;
}

describe('ClientTable', () => {
  it('matches the most specific network across providers, whatever their order', () => {
    const wide = p('a-wide', '127.0.0.0/8, 10.0.0.0/8');
    const narrow = p('b-narrow', '127.0.0.1/32');
    const middle = p('c-middle', '10.1.0.0/16');
    for (const order of [[wide, narrow, middle], [middle, narrow, wide], [narrow, wide, middle]]) {
      const t = new ClientTable(order);
      assert.equal(who(t, '127.0.0.1'), 'b-narrow', 'the /32 beats the /8 (authentik picked the first listed: #22853)');
      assert.equal(who(t, '127.0.0.2'), 'a-wide');
      assert.equal(who(t, '10.1.2.3'), 'c-middle');
      assert.equal(who(t, '10.2.0.1'), 'a-wide');
      assert.equal(who(t, '192.0.2.1'), undefined);
    }
  });

  it('reports the matched network and the normalised client address', () => {
    const t = new ClientTable([p('a', '10.0.0.0/8'), p('b', '10.20.0.0/16')]);
    const m = t.match('10.20.30.40');
    assert.deepEqual(m && { name: m.provider.name, network: m.network, address: m.address }, { name: 'b', network: '10.20.0.0/16', address: '10.20.30.40' });
  });

  it('breaks ties between equal prefixes by provider order (deterministically)', () => {
    const t1 = new ClientTable([p('first', '192.168.0.0/16'), p('second', '192.168.0.0/16')]);
    const t2 = new ClientTable([p('second', '192.168.0.0/16'), p('first', '192.168.0.0/16')]);
    for (let i = 0; i < 5; i++) {
      assert.equal(who(t1, '192.168.1.1'), 'first');
      assert.equal(who(t2, '192.168.1.1'), 'second');
    }
    // Also within one provider's list, and with host bits written differently.
    const t3 = new ClientTable([p('x', '10.0.0.0/8'), p('y', '10.9.9.9/8')]);
    assert.equal(who(t3, '10.1.1.1'), 'x');
  });

  it('treats a bare address as a host (/32 or /128), more specific than any range', () => {
    const t = new ClientTable([p('range', '192.0.2.0/24, 2001:db8::/32'), p('host', '192.0.2.7, 2001:db8::7')]);
    assert.equal(who(t, '192.0.2.7'), 'host');
    assert.equal(who(t, '192.0.2.8'), 'range');
    assert.equal(who(t, '2001:db8::7'), 'host');
    assert.equal(who(t, '2001:db8::8'), 'range');
    assert.equal(t.match('192.0.2.7')?.network, '192.0.2.7/32');
    assert.equal(t.match('2001:db8::7')?.network, '2001:db8::7/128');
    assert.deepEqual(t.invalid, []);
  });

  it('clears host bits: 10.0.0.5/24 is 10.0.0.0/24', () => {
    const t = new ClientTable([p('a', '10.0.0.5/24')]);
    assert.equal(t.match('10.0.0.200')?.network, '10.0.0.0/24');
    assert.equal(who(t, '10.0.1.1'), undefined);
  });

  it('skips invalid entries, reports each once, and keeps the rest working', () => {
    const t = new ClientTable([
      p('a', 'not-a-cidr, 127.0.0.0/8,  , 10.0.0.0/33'),
      p('b', '::1/129, 2001:db8::/32, 300.1.1.1/8, 10.0.0.1/ 8'),
      p('c', ''),
    ]);
    assert.deepEqual(
      t.invalid.map((i) => [i.provider, i.entry]),
      [['a', 'not-a-cidr'], ['a', '10.0.0.0/33'], ['b', '::1/129'], ['b', '300.1.1.1/8'], ['b', '10.0.0.1/ 8']],
    );
    for (const i of t.invalid) assert.ok(i.reason.length > 0 && i.reason.includes(i.entry), i.reason);
    assert.equal(who(t, '127.0.0.1'), 'a');
    assert.equal(who(t, '2001:db8::1'), 'b');
    assert.equal(who(t, '10.0.0.1'), undefined, 'nothing of the invalid entries is used');
  });

  it('matches IPv4-mapped IPv6 sources as IPv4 and reports them in IPv4 form', () => {
    const t = new ClientTable([p('v4', '127.0.0.0/8'), p('v6', '::/0')]);
    const m = t.match('::ffff:127.0.0.1');
    assert.equal(m?.provider.name, 'v4');
    assert.equal(m?.address, '127.0.0.1');
    assert.equal(t.match('::FFFF:7f00:2')?.address, '127.0.0.2');
  });

  it('never matches an IPv4 client with an IPv6 range (::/0), nor IPv6 with 0.0.0.0/0', () => {
    const only6 = new ClientTable([p('v6', '::/0')]);
    assert.equal(who(only6, '127.0.0.1'), undefined);
    assert.equal(who(only6, '::ffff:127.0.0.1'), undefined, 'a mapped IPv4 source is IPv4');
    assert.equal(who(only6, '::1'), 'v6');
    const only4 = new ClientTable([p('v4', '0.0.0.0/0')]);
    assert.equal(who(only4, '::1'), undefined);
    assert.equal(who(only4, '2001:db8::1'), undefined);
    assert.equal(who(only4, '203.0.113.9'), 'v4');
    // authentik's default "0.0.0.0/0, ::/0" admits both families.
    const dflt = new ClientTable([p('default', '0.0.0.0/0, ::/0')]);
    assert.equal(dflt.match('::ffff:192.0.2.1')?.network, '0.0.0.0/0');
    assert.equal(dflt.match('fe80::1')?.network, '::/0');
  });

  it('does not let an IPv6 range written over the mapped space capture IPv4 clients', () => {
    // ::ffff:0:0/96 written in IPv6 notation stays an IPv6 range.
    const t = new ClientTable([p('mapped6', '::ffff:0:0/96'), p('v4', '10.0.0.0/8')]);
    assert.equal(who(t, '10.1.1.1'), 'v4');
    assert.equal(who(t, '192.0.2.1'), undefined);
  });

  it('accepts IPv6 sources with a zone and brackets; rejects non-addresses', () => {
    const t = new ClientTable([p('ll', 'fe80::/10')]);
    assert.equal(who(t, 'fe80::1%eth0'), 'll');
    assert.equal(who(t, '[fe80::2]'), 'll');
    assert.equal(t.match('localhost'), undefined);
    assert.equal(t.match(''), undefined);
  });

  it('handles no providers and a provider with only invalid entries', () => {
    assert.equal(new ClientTable<P>([]).match('127.0.0.1'), undefined);
    const t = new ClientTable([p('bad', 'nope')]);
    assert.equal(t.match('127.0.0.1'), undefined);
    assert.equal(t.invalid.length, 1);
  });

  it('scales: many providers still resolve by longest prefix', () => {
    const providers: P[] = [];
    for (let i = 0; i < 200; i++) providers.push(p(`p${String(i).padStart(3, '0')}`, `10.${i}.0.0/16, 10.${i}.${i}.0/24`));
    providers.push(p('catch-all', '10.0.0.0/8'));
    const t = new ClientTable(providers);
    assert.equal(t.match('10.42.42.1')?.network, '10.42.42.0/24');
    assert.equal(who(t, '10.42.42.1'), 'p042');
    assert.equal(t.match('10.42.43.1')?.network, '10.42.0.0/16');
    assert.equal(who(t, '10.250.0.1'), 'catch-all');
  });
});
