// The shared logger level: the most verbose level any outpost asks for reaches every logger
// that descends from the shared one; each outpost's own logger keeps its own level.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { named, SharedLevel, writeLine } from '../src/log.ts';
import { captureLogs } from './support/logs.ts';

describe('SharedLevel', () => {
  it('is the configured level until an outpost asks; then the most verbose level asked for', () => {
    const { logger } = captureLogs('info');
    const shared = new SharedLevel(logger);
    const a = {};
    const b = {};
    shared.ask(a, 'warn');
    assert.equal(logger.level, 'warn', 'one outpost asking for warning quiets the shared loggers');
    shared.ask(b, 'debug');
    assert.equal(logger.level, 'debug', 'the most verbose level wins');
    shared.ask(b, 'error');
    assert.equal(logger.level, 'warn');
    shared.withdraw(a);
    assert.equal(logger.level, 'error');
    shared.withdraw(b);
    assert.equal(logger.level, 'info', 'back to the configured level once nobody asks');
  });

  it('reaches loggers created before the change (a listener\'s), not an outpost\'s own logger', () => {
    const logs = captureLogs('info');
    const shared = new SharedLevel(logs.logger);
    const listener = named(logs.logger, 'ldap');
    const agentLogger = logs.logger.child({});
    const agentLine = named(agentLogger, 'ak-api-controller');
    agentLogger.level = 'warn';
    shared.ask(agentLogger, 'warn');
    shared.ask({}, 'debug');
    listener.debug('listener debug');
    agentLine.debug('agent debug');
    agentLine.info('agent info');
    assert.deepEqual(logs.lines.map((l) => l['event']), ['listener debug']);
  });
});

describe('writeLine', () => {
  it('writes the line pino writes for the same fields and event, bindings included', () => {
    const logs = captureLogs('info');
    const child = named(logs.logger, 'proxyv2.application', { name: 'p1-proxy' }).child({ request_id: 'r-1' });
    const fields = { host: 'app.example.com', method: 'GET', status: 200, size: 12, user_agent: 'quote " backslash \\ control \u0001 é 😀', runtime: '0.125' };
    child.info(fields, '/some/path "x"');
    writeLine(child, 'info', Object.entries(fields).map(([k, v]) => `,"${k}":${JSON.stringify(v)}`).join(''), '/some/path "x"');
    child.error(fields, '/e');
    writeLine(child, 'error', Object.entries(fields).map(([k, v]) => `,"${k}":${JSON.stringify(v)}`).join(''), '/e');
    assert.equal(logs.raw.length, 4);
    const [pinoInfo, ours, pinoError, oursError] = logs.lines.map(({ timestamp, ...rest }) => {
      assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return rest;
    });
    assert.deepEqual(ours, pinoInfo);
    assert.deepEqual(Object.keys(ours!), Object.keys(pinoInfo!), 'the same keys in the same order');
    assert.deepEqual(oursError, pinoError);
    assert.equal(oursError!['level'], 'error');
  });
});
