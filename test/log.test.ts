// The shared logger level: the most verbose level any outpost asks for reaches every logger
// that descends from the shared one; each outpost's own logger keeps its own level.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { named, SharedLevel } from '../src/log.ts';
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
