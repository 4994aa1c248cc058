// ListenerSet.ready(): what `/outpost.goauthentik.io/ready` asks of the listeners besides the
// agents (the proxy's shared session store). A listener without `ready` never holds it back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ListenerSet, type Listener, type ListenerHost, type ListenerPlugin } from '../../src/agent/listener.ts';
import type { OutpostType } from '../../src/agent/schemas.ts';

function plugin(type: OutpostType, listener: Listener<unknown>): ListenerPlugin {
  return { type, providersPath: `/outposts/${type}/`, providerSchema: z.unknown(), create: () => listener };
}

const base = (): Listener<unknown> => ({ apply: async () => {}, start: async () => {}, stop: async () => {} });

describe('ListenerSet.ready', () => {
  it('is true with no listener, and with listeners that have no opinion', () => {
    const set = new ListenerSet([plugin('ldap', base())], {} as ListenerHost);
    assert.equal(set.ready(), true);
    set.get('ldap');
    assert.equal(set.ready(), true);
  });

  it('is false while any created listener says it is not ready', () => {
    let up = false;
    const proxy: Listener<unknown> = { ...base(), ready: () => up };
    const set = new ListenerSet([plugin('ldap', base()), plugin('proxy', proxy)], {} as ListenerHost);
    assert.equal(set.ready(), true, 'a listener not created yet is not asked');
    set.get('ldap');
    set.get('proxy');
    assert.equal(set.ready(), false);
    up = true;
    assert.equal(set.ready(), true);
  });
});
