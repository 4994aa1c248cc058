// Throwaway nginx instances (one worker each, like the outpost's one event loop). One serves the
// static upstream every proxy forwards to. Another runs `proxy_pass` to it (the reference for
// proxy mode) and the same `auth_request` location once per auth target: each outpost (one per
// session backend) and a trivial endpoint (the reference for forward auth); authentik's
// documented nginx snippet, with upstream keepalive. The upstream is a process of its own, as
// an application is: served by the proxying worker itself, nginx would reach it without a
// socket write that wakes another process, which no real deployment (and no other proxy in the
// bench) gets.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../support.ts';

export interface NginxPorts {
  /** Serve the static upstream here: 200 with a small body. */
  upstream?: number;
  /** Listen here with `proxy_pass` to the upstream at `upstreamTarget`. */
  proxyPass?: number;
  /** Listen here with the same `proxy_pass`, doing what the outpost does besides: an access line per request (batched, to /dev/null as the outpost's stdout is in the bench) and X-Forwarded-For/-Host/-Proto. */
  proxyPassLogged?: number;
  upstreamTarget?: number;
  /** Per target: nginx listens on `port` and asks `target`'s `/outpost.goauthentik.io/auth/nginx`, then serves a static file. */
  auth: readonly { port: number; target: number }[];
}

export interface Nginx {
  readonly pid: number;
  /** The worker's pid (the one doing the work). */
  workerPid(): number;
  stop(): Promise<void>;
}

/** The upstream's answer (small, like an API response). */
export const UPSTREAM_BODY = '{"ok":true,"message":"hello from the upstream"}\n';

function authServer(port: number, authTarget: string, www: string): string {
  return `
  upstream auth_${port} { server ${authTarget}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    root ${www};
    location / {
      auth_request /outpost.goauthentik.io/auth/nginx;
      auth_request_set $authentik_username $upstream_http_x_authentik_username;
      add_header X-authentik-username $authentik_username;
      try_files /index.html =404;
    }
    location = /outpost.goauthentik.io/auth/nginx {
      internal;
      proxy_pass http://auth_${port};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $host;
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }
  }`;
}

function upstreamServer(port: number): string {
  return `
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '${UPSTREAM_BODY.trimEnd()}\\n'; }
  }`;
}

function proxyPassServer(port: number, target: number, logged = false): string {
  return `
  upstream upstream_pool_${port} { server 127.0.0.1:${target}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};${logged ? '\n    access_log /dev/null combined buffer=4k flush=100ms;' : ''}
    location / {
      proxy_pass http://upstream_pool_${port};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;${
        logged
          ? `
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;`
          : ''
      }
    }
  }`;
}

function config(dir: string, ports: NginxPorts): string {
  const www = join(dir, 'www');
  return `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type text/plain;
${ports.upstream === undefined ? '' : upstreamServer(ports.upstream)}
${ports.proxyPass === undefined || ports.upstreamTarget === undefined ? '' : proxyPassServer(ports.proxyPass, ports.upstreamTarget)}
${ports.proxyPassLogged === undefined || ports.upstreamTarget === undefined ? '' : proxyPassServer(ports.proxyPassLogged, ports.upstreamTarget, true)}
${ports.auth.map((a) => authServer(a.port, `127.0.0.1:${a.target}`, www)).join('\n')}
}
`;
}

export async function startNginx(dir: string, ports: NginxPorts): Promise<Nginx> {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'www'), { recursive: true });
  writeFileSync(join(dir, 'www', 'index.html'), 'protected page\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config(dir, ports));
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  try {
    // Answering on its first port (the upstream, else proxy_pass: its upstream is started first).
    const probe = ports.upstream ?? ports.proxyPass ?? ports.auth[0]?.port;
    await until('nginx', async () => (await fetch(`http://127.0.0.1:${probe}/`)).status > 0, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; nginx error log:\n${readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000)}`);
  }
  const pid = child.pid ?? 0;
  return {
    pid,
    workerPid: () => Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]),
    stop,
  };
}
