// The core's few HTML pages: errors, access denied, signed out, and the flow interface
// (`/if/flow/<slug>/`) that drives the flow executor stage by stage so a person or a headless
// browser can log in. Plain HTML and a little inline script, no framework.
import type { ApiResponse } from './api.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  'body{font-family:sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}' +
  'label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}' +
  'button{margin-top:1rem;padding:.4rem 1.2rem}#error{color:#b00020;min-height:1.2rem}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function htmlResponse(status: number, title: string, body: string, headers?: Record<string, string | string[]>): ApiResponse {
  return { status, text: page(title, body), contentType: 'text/html; charset=utf-8', ...(headers ? { headers } : {}) };
}

/** authentik's error page (`bad_request_message`): a title and a message, never a redirect. */
export function errorPage(status: number, title: string, message: string): ApiResponse {
  return htmlResponse(status, title, `<h1>${escapeHtml(title)}</h1><p id="error">${escapeHtml(message)}</p>`);
}

// The flow interface's script. It asks the executor for the current challenge (passing the
// page's own query string as `query`, as authentik's flow interface does, so the flow knows
// `next`), renders a form per stage, posts the answer and follows `xak-flow-redirect`.
const FLOW_SCRIPT = `
const slug = document.body.dataset.slug;
const api = '/api/v3/flows/executor/' + encodeURIComponent(slug) + '/?query=' + encodeURIComponent(location.search.slice(1));
const form = document.getElementById('form');
const fields = document.getElementById('fields');
const title = document.getElementById('title');
const error = document.getElementById('error');
const submit = document.getElementById('submit');
let current = null;

function input(name, label, type) {
  const l = document.createElement('label');
  l.htmlFor = name;
  l.textContent = label;
  const i = document.createElement('input');
  i.type = type; i.name = name; i.id = name;
  i.autocomplete = type === 'password' ? 'current-password' : name === 'code' ? 'one-time-code' : 'username';
  fields.append(l, i);
  return i;
}

function fieldLabel(f) {
  return { username: 'Username', email: 'Email', upn: 'UPN' }[f] || f;
}

function errorsOf(c) {
  const e = c.response_errors || {};
  return Object.values(e).flat().map((x) => x.string).join(' ');
}

function render(c) {
  // The same stage back with errors (a wrong password): keep what was typed, bar secrets, as
  // authentik's form does, so the person fixes only the password instead of retyping everything.
  const kept = {};
  if (current && current.component === c.component) {
    for (const el of form.elements) if (el.name && el.type !== 'password' && el.type !== 'checkbox' && el.name !== 'code') kept[el.name] = el.value;
  }
  current = c;
  fields.replaceChildren();
  error.textContent = errorsOf(c);
  submit.hidden = false;
  if (c.flow_info && c.flow_info.title) title.textContent = c.flow_info.title;
  switch (c.component) {
    case 'xak-flow-redirect':
      location.assign(c.to);
      return;
    case 'ak-stage-identification': {
      const uid = input('uid_field', (c.user_fields || []).map(fieldLabel).join(' or ') || 'Username', 'text');
      uid.value = kept.uid_field || '';
      const password = c.password_fields ? input('password', 'Password', 'password') : null;
      (uid.value && password ? password : uid).focus();
      submit.textContent = c.primary_action || 'Log in';
      return;
    }
    case 'ak-stage-password':
      input('password', 'Password for ' + (c.pending_user || ''), 'password').focus();
      submit.textContent = 'Continue';
      return;
    case 'ak-stage-authenticator-validate': {
      const classes = (c.device_challenges || []).map((d) => d.device_class);
      if (classes.some((k) => k === 'totp' || k === 'static')) {
        input('code', 'Authentication code', 'text').focus();
        submit.textContent = 'Continue';
      } else {
        error.textContent = 'No device this page can use (' + classes.join(', ') + ').';
        submit.hidden = true;
      }
      return;
    }
    case 'ak-stage-user-login': {
      const i = input('remember_me', 'Stay signed in', 'checkbox');
      i.value = 'true';
      submit.textContent = 'Continue';
      return;
    }
    case 'ak-stage-consent':
      fields.textContent = 'Allow access?';
      submit.textContent = 'Allow';
      return;
    case 'ak-stage-access-denied':
      error.textContent = c.error_message || 'Access denied';
      submit.hidden = true;
      return;
    case 'ak-stage-flow-error':
      error.textContent = c.error || 'Something went wrong (flow error).';
      submit.hidden = true;
      return;
    default:
      error.textContent = 'This page cannot show the stage ' + c.component + '.';
      submit.hidden = true;
  }
}

async function call(body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  try {
    const res = await fetch(api, { credentials: 'same-origin', ...init });
    if (!res.ok) throw new Error('the flow executor answered ' + res.status);
    render(await res.json());
  } catch (e) {
    error.textContent = String(e.message || e);
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = { component: current && current.component };
  for (const el of form.elements) {
    if (!el.name) continue;
    body[el.name] = el.type === 'checkbox' ? el.checked : el.value;
  }
  if (current && current.component === 'ak-stage-consent') body.token = current.token;
  call(body);
});

call();
`;

/** `/if/flow/<slug>/`: the flow interface. The slug rides in a data attribute, so the script needs no templating. */
export function flowPage(slug: string, flowTitle: string): ApiResponse {
  const body =
    `<noscript>This page needs JavaScript.</noscript><h1 id="title">${escapeHtml(flowTitle)}</h1>` +
    `<form id="form" novalidate><div id="fields"></div><p id="error" role="alert"></p><button id="submit" type="submit">Continue</button></form>` +
    `<script>${FLOW_SCRIPT}</script>`;
  return { status: 200, contentType: 'text/html; charset=utf-8', text: page(flowTitle, body).replace('<body>', `<body data-slug="${escapeHtml(slug)}">`) };
}
