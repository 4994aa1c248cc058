// The one rule for "the core failed": flow outcomes and thrown errors, per kind of call.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreError } from '../../src/agent/errors.ts';
import { coreFailure, type CoreCall, type FlowOutcome } from '../../src/flow/index.ts';
import { HttpError, type HttpErrorCode } from '../../src/net/http.ts';

const err = (code: HttpErrorCode, status?: number) => new CoreError(code, '/api/v3/x/', `${code} ${status ?? ''}`, { status });
const cause = (e: unknown, call: CoreCall) => coreFailure(e, call)?.cause;
const CALLS: readonly CoreCall[] = ['api', 'flow', 'user'];

describe('coreFailure: thrown errors', () => {
  it('unreachable, slow and unreadable answers are the core failing, whoever asked', () => {
    for (const call of CALLS) {
      assert.equal(cause(err('transport'), call), 'unreachable', call);
      assert.equal(cause(err('timeout'), call), 'timeout', call);
      assert.equal(cause(err('invalid'), call), 'invalid', call);
      assert.equal(cause(err('too_large'), call), 'invalid', call);
      for (const status of [500, 502, 503, 504, 408, 429]) assert.equal(cause(err('status', status), call), 'status', `${call} ${status}`);
    }
  });

  it('the caller giving up is never the core failing', () => {
    for (const call of CALLS) assert.equal(coreFailure(err('aborted'), call), undefined, call);
  });

  it('401/403: the outpost token rejected on its own API calls; an answer when asked as the user', () => {
    for (const status of [401, 403]) {
      assert.equal(cause(err('status', status), 'api'), 'token_rejected');
      // check_access or users/me refusing the user's session (the user deactivated meanwhile).
      assert.equal(coreFailure(err('status', status), 'user'), undefined);
      // The executor answers every verdict on the user with a 200 challenge.
      assert.equal(cause(err('status', status), 'flow'), 'status');
    }
  });

  // Before, a 3xx from an API call was counted nowhere, and one from check_access or users/me
  // was taken as an answer about the user (LDAP 1, RADIUS Access-Reject).
  it('a redirect that was not followed is the core failing, whoever asked', () => {
    for (const call of CALLS) {
      for (const status of [301, 302, 307, 308]) assert.equal(cause(err('status', status), call), 'status', `${call} ${status}`);
    }
  });

  it('other 4xx: an answer from the API, the core failing from the flow executor', () => {
    for (const status of [400, 404, 405, 410]) {
      assert.equal(coreFailure(err('status', status), 'api'), undefined, `api ${status}`);
      assert.equal(coreFailure(err('status', status), 'user'), undefined, `user ${status}`);
      assert.equal(cause(err('status', status), 'flow'), 'status', `flow ${status}`);
    }
  });

  it('returns the error itself, and takes any HttpError but nothing else', () => {
    const e = err('timeout');
    assert.equal(coreFailure(e, 'user')?.error, e);
    assert.equal(cause(new HttpError('transport', '/x/', 'refused'), 'api'), 'unreachable');
    assert.equal(coreFailure(new TypeError('a bug of ours'), 'api'), undefined);
    assert.equal(coreFailure(undefined, 'api'), undefined);
  });
});

describe('coreFailure: flow outcomes', () => {
  const error = (reason: Extract<FlowOutcome, { kind: 'error' }>['reason'], status?: number): FlowOutcome => ({ kind: 'error', reason, message: `failed: ${reason}`, ...(status !== undefined ? { status } : {}) });

  it('timeout, unreachable, invalid_response and any http_status are the core failing', () => {
    assert.equal(coreFailure(error('timeout'))?.cause, 'timeout');
    assert.equal(coreFailure(error('unreachable'))?.cause, 'unreachable');
    assert.equal(coreFailure(error('invalid_response'))?.cause, 'invalid');
    for (const status of [500, 503, 404, 403, 401, 400]) assert.equal(coreFailure(error('http_status', status))?.cause, 'status', String(status));
    // authentik's error stage: an exception in the core, sent as a 200 challenge.
    assert.equal(coreFailure(error('core_error'))?.cause, 'status');
  });

  it('a wrong password, a denial, a flow we cannot run and our own abort are not', () => {
    assert.equal(coreFailure({ kind: 'passed', session: undefined }), undefined);
    assert.equal(coreFailure({ kind: 'denied', reason: 'invalid_credentials', message: 'Invalid password' }), undefined);
    assert.equal(coreFailure({ kind: 'denied', reason: 'access_denied', message: 'denied' }), undefined);
    assert.equal(coreFailure(error('flow_error')), undefined);
    assert.equal(coreFailure(error('aborted')), undefined);
  });

  it('carries the outcome\'s message (free of secrets) and status in its error', () => {
    const f = coreFailure(error('http_status', 502));
    assert.ok(f?.error instanceof CoreError);
    assert.equal(f.error.code, 'status');
    assert.equal(f.error.status, 502);
    assert.equal(f.error.message, 'failed: http_status');
  });
});
