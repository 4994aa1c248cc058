// The batched log writer, in child processes whose stdout is a real pipe: every line arrives,
// whole and in order; a line waits at most the flush interval; what is pending at exit is
// written; a reader that went away never takes the process down.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const WRITER = new URL('../src/log-writer.ts', import.meta.url).href;

/** Runs `body` (ES module code, `BatchedWriter` in scope) with stdout piped; resolves with its stdout, stderr and exit code. */
async function run(body: string, onStdout?: (child: ReturnType<typeof spawn>, text: string) => void): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { BatchedWriter } from '${WRITER}';\n${body}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    onStdout?.(child, out);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { out, err, code };
}

describe('BatchedWriter', () => {
  it('writes every line whole and in order, including what is pending when the process exits', async () => {
    const { out, code } = await run(`
      const w = new BatchedWriter(1, { minBytes: 4096, flushMs: 100 });
      for (let i = 0; i < 20000; i++) w.write(JSON.stringify({ i, pad: 'é'.repeat(i % 50) }) + '\\n');
      process.exit(0);
    `);
    assert.equal(code, 0);
    const lines = out.split('\n').filter(Boolean);
    assert.equal(lines.length, 20000);
    lines.forEach((l, i) => assert.deepEqual(JSON.parse(l), { i, pad: 'é'.repeat(i % 50) }));
  });

  it('writes a lone line within the flush interval, without waiting for a batch', async () => {
    let seenAt = 0;
    const started = performance.now();
    const { out } = await run(
      `
      const w = new BatchedWriter(1, { minBytes: 4096, flushMs: 50 });
      w.write('one line\\n');
      setTimeout(() => {}, 2000);
    `,
      (child, text) => {
        if (text.includes('one line') && seenAt === 0) {
          seenAt = performance.now();
          child.kill();
        }
      },
    );
    assert.equal(out, 'one line\n');
    assert.ok(seenAt - started < 1900, 'the line came before the process would have exited');
  });

  it('a reader that falls behind (a full non-blocking pipe: EAGAIN) loses nothing', async () => {
    let paused = false;
    const { out, code } = await run(
      `
      // Node makes a piped stdout non-blocking once process.stdout is touched: writes past the pipe's buffer then fail with EAGAIN.
      process.stdout.columns;
      const w = new BatchedWriter(1, { minBytes: 4096, flushMs: 10 });
      for (let i = 0; i < 40000; i++) w.write(JSON.stringify({ i, pad: 'x'.repeat(40) }) + '\\n');
      w.flush(() => process.exit(0));
    `,
      (child) => {
        if (paused) return;
        paused = true;
        child.stdout?.pause();
        setTimeout(() => child.stdout?.resume(), 300);
      },
    );
    assert.equal(code, 0);
    const lines = out.split('\n').filter(Boolean);
    assert.equal(lines.length, 40000);
    lines.forEach((l, i) => assert.equal((JSON.parse(l) as { i: number }).i, i));
  });

  it('flush(cb) waiting behind an EAGAIN retry is called back when flush() writes everything at once', async () => {
    let paused = false;
    const { out, err } = await run(
      `
      process.stdout.columns; // a non-blocking pipe: EAGAIN once it is full
      const w = new BatchedWriter(1, { minBytes: 4096, flushMs: 10 });
      for (let i = 0; i < 40000; i++) w.write(JSON.stringify({ i, pad: 'x'.repeat(40) }) + '\\n');
      w.flush(() => process.stderr.write('flushed'));
      setTimeout(() => w.flush(), 50);
    `,
      (child) => {
        if (paused) return;
        paused = true;
        child.stdout?.pause();
        setTimeout(() => child.stdout?.resume(), 300);
      },
    );
    assert.equal(out.split('\n').filter(Boolean).length, 40000);
    assert.equal(err, 'flushed');
  });

  it('at exit, a reader that takes nothing for longer than the retries: the lines not written are counted on stderr', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { BatchedWriter } from '${WRITER}';
        process.stdout.columns; // a non-blocking pipe (see above): EAGAIN once it is full
        const w = new BatchedWriter(1, { minBytes: 1 << 30, flushMs: 60000 });
        for (let i = 0; i < 50000; i++) w.write(JSON.stringify({ i, pad: 'x'.repeat(60) }) + '\\n');
        process.exit(0);`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // stdout is not read until the child has exited (given up): the pipe holds what fits.
    child.stdout.pause();
    await once(child, 'exit');
    child.stdout.resume();
    await once(child, 'close');
    const lost = Number(/log output: (\d+) log lines not written/.exec(err)?.[1]);
    assert.ok(lost > 0, err);
    assert.equal(err.match(/log output/g)?.length, 1, 'said once');
    assert.equal(out.split('\n').length - 1 + lost, 50000, 'every line either written whole or counted');
  });

  it('flush(cb) calls back once everything written so far is out', async () => {
    const { out } = await run(`
      const w = new BatchedWriter(1, { minBytes: 1 << 20, flushMs: 60000 });
      w.write('a\\n');
      w.write('b\\n');
      w.flush(() => { process.stderr.write('flushed'); setTimeout(() => process.exit(0), 10); });
      w.write('c\\n');
    `);
    assert.equal(out, 'a\nb\nc\n');
  });

  it('flush() without a callback writes what is pending, without waiting for a batch (the shutdown path exits right after)', async () => {
    const { out, code } = await run(`
      const w = new BatchedWriter(1, { minBytes: 1 << 20, flushMs: 60000 });
      w.write('before shutdown\\n');
      w.flush();
      // Killed at once: no exit handler runs, so the line was written by flush() itself.
      process.kill(process.pid, 'SIGKILL');
    `);
    assert.equal(code, null);
    assert.equal(out, 'before shutdown\n');
  });

  it('drops what is beyond its bound and says how many once writing resumes', async () => {
    const { out } = await run(`
      const w = new BatchedWriter(1, { minBytes: 1 << 20, flushMs: 60000, maxPendingBytes: 100 });
      for (let i = 0; i < 20; i++) w.write('0123456789\\n');
      w.flush(() => process.exit(0));
    `);
    const lines = out.split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l === '0123456789').length, 9);
    const notice = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    assert.equal(notice['dropped'], 11);
    assert.equal(notice['level'], 'warning');
  });

  it('a closed stdout stops the output with one line on stderr; the process carries on', async () => {
    const { err, code } = await run(
      `
      const w = new BatchedWriter(1, { minBytes: 10, flushMs: 10 });
      let n = 0;
      const t = setInterval(() => { w.write('line ' + n++ + '\\n'); if (n === 300) { clearInterval(t); process.stderr.write('still running'); } }, 1);
    `,
      (child, text) => {
        if (text.length > 0) child.stdout?.destroy();
      },
    );
    assert.equal(code, 0);
    assert.match(err, /log output failed \(EPIPE\)/);
    assert.equal(err.match(/log output failed/g)?.length, 1, 'said once');
    assert.match(err, /still running/);
  });
});
