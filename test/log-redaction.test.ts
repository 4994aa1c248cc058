// Secrets are censored in log lines at the top level and one level down (`*.<key>`), errors
// after their serializer, headers by name; everything else is logged as given.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { named } from '../src/log.ts';
import { captureLogs } from './support/logs.ts';

describe('log redaction', () => {
  it('censors secret keys at the top level, one level down and in headers; leaves the rest', () => {
    const logs = captureLogs('info');
    const nested = { token: 't', keep: 1, deeper: { password: 'not one level down' } };
    logs.logger.info({ password: 'p', nested, headers: { authorization: 'Bearer x', 'x-authentik-outpost-token': 'y', accept: '*/*' }, list: [{ token: 'in a list' }], plain: 'v' }, 'line');
    assert.deepEqual(logs.lines[0], {
      level: 'info',
      timestamp: logs.lines[0]!['timestamp'],
      password: '[redacted]',
      nested: { token: '[redacted]', keep: 1, deeper: { password: 'not one level down' } },
      headers: { authorization: '[redacted]', 'x-authentik-outpost-token': '[redacted]', accept: '*/*' },
      list: [{ token: 'in a list' }],
      plain: 'v',
      event: 'line',
    });
    assert.equal(nested.token, 't', 'the logged object itself is not changed');
  });

  it('serializes an error first, then censors its secret properties', () => {
    const logs = captureLogs('info');
    const err = Object.assign(new Error('boom'), { client_secret: 's', code: 'E_X' });
    logs.logger.error({ err }, 'failed');
    const e = logs.lines[0]!['err'] as Record<string, unknown>;
    assert.equal(e['type'], 'Error');
    assert.equal(e['message'], 'boom');
    assert.equal(e['client_secret'], '[redacted]');
    assert.equal(e['code'], 'E_X');
    assert.equal(err.client_secret, 's');
  });

  it('censors top-level secret keys of child bindings', () => {
    const logs = captureLogs('info');
    logs.logger.child({ connection: 1, token: 'bound' }).info('child');
    assert.equal(logs.lines[0]!['token'], '[redacted]');
    assert.equal(logs.lines[0]!['connection'], 1);
  });

  it('censors secret keys one level down in named loggers\' bindings, as pino\'s wildcard paths did', () => {
    const logs = captureLogs('info');
    named(logs.logger, 'proxy', { upstream: { client_secret: 's', host: 'h' } }).info('child');
    assert.deepEqual(logs.lines[0]!['upstream'], { client_secret: '[redacted]', host: 'h' });
  });
});
