// The files served under /outpost.goauthentik.io/static/dist/ (handlers/static.ts): the
// outpost's own stylesheet and logo, written for its HTML pages (the "Bad Gateway" and
// "Unauthenticated" error pages), nothing of authentik's web build. They live in the source as
// strings because the production image runs an esbuild bundle (scripts/build.ts), which carries
// code, not data files.

const CSS = 'text/css; charset=utf-8';

/**
 * Served under the file name authentik's proxy pages link, but not PatternFly: everything the
 * outpost's pages need (colours in light and dark, the logo, the layout), for the plain elements
 * and the few pf-c-* classes those pages use.
 */
const PATTERNFLY_MIN_CSS = `/* The outpost's own stylesheet for its pages (not PatternFly). */
:root {
  --outpost-page: #eef1f4;
  --outpost-card: #ffffff;
  --outpost-border: #d5dae0;
  --outpost-text: #1d232a;
  --outpost-muted: #56606b;
  --outpost-accent: #0f766e;
  --outpost-on-accent: #ffffff;
  --outpost-focus: #5eead4;
}

@media (prefers-color-scheme: dark) {
  :root {
    --outpost-page: #15191e;
    --outpost-card: #1f252c;
    --outpost-border: #343c46;
    --outpost-text: #e7eaee;
    --outpost-muted: #a3acb6;
    --outpost-accent: #14b8a6;
    --outpost-on-accent: #04201d;
  }
}

/* The logo above each page's card, without a tag in the page for it. */
main::before,
.pf-c-login__main::before {
  content: "";
  display: block;
  height: 2.5rem;
  margin-bottom: 1.25rem;
  background: url("assets/icons/icon_left_brand.svg") left center / contain no-repeat;
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

html {
  color-scheme: light dark;
}

body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  align-items: center;
  justify-content: center;
  padding: 1.5rem;
  background: var(--outpost-page);
  color: var(--outpost-text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}

main,
.pf-c-login__main {
  width: 100%;
  max-width: 28rem;
  padding: 2rem;
  background: var(--outpost-card);
  border: 1px solid var(--outpost-border);
  border-radius: 0.75rem;
  box-shadow: 0 0.5rem 1.5rem rgb(0 0 0 / 0.08);
}

h1,
.pf-c-title {
  margin: 0 0 0.75rem;
  font-size: 1.5rem;
  font-weight: 600;
  line-height: 1.25;
}

.pf-c-title.pf-m-3xl {
  font-size: 1.75rem;
}

p {
  margin: 0 0 1.5rem;
  color: var(--outpost-muted);
  /* Upstream error details can be long unbroken strings. */
  overflow-wrap: anywhere;
}

a {
  color: var(--outpost-accent);
}

/* The pages' one action, "Go to home". */
main > a[href="/"],
.pf-c-button {
  display: inline-block;
  padding: 0.625rem 1.25rem;
  border-radius: 0.375rem;
  background: var(--outpost-accent);
  color: var(--outpost-on-accent);
  font-weight: 600;
  text-align: center;
  text-decoration: none;
}

main > a[href="/"]:hover,
.pf-c-button:hover {
  filter: brightness(1.1);
}

main > a[href="/"]:focus-visible,
.pf-c-button:focus-visible {
  outline: 3px solid var(--outpost-focus);
  outline-offset: 2px;
}

.pf-m-block {
  display: block;
  width: 100%;
}
`;

/** authentik's pages link it beside patternfly.min.css; the outpost's own need nothing from it. */
const AUTHENTIK_CSS = `/*
 * Served because authentik's proxy pages link it beside patternfly.min.css. The outpost's own
 * pages need nothing from it: its colours, logo and layout are all in patternfly.min.css.
 */
`;

/** Left empty, as authentik ships it. */
const CUSTOM_CSS = `/* Left empty on purpose, as authentik ships it: the place for a deployment's own overrides. */
`;

/** The logo: a shield with a keyhole, and the word "outpost". */
const ICON_LEFT_BRAND_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 172 40" width="172" height="40" role="img" aria-labelledby="outpost-logo-title">
  <title id="outpost-logo-title">outpost</title>
  <path d="M20 2 36 8v11c0 9.5-6.6 16.3-16 19-9.4-2.7-16-9.5-16-19V8Z" fill="#0f766e"/>
  <circle cx="20" cy="16.5" r="4.5" fill="#ffffff"/>
  <path d="M17.6 19.5h4.8l1.6 10h-8Z" fill="#ffffff"/>
  <text x="46" y="28" fill="#0f766e" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="22" font-weight="600" letter-spacing="0.5">outpost</text>
</svg>
`;

export interface StaticFile {
  readonly contentType: string;
  readonly text: string;
}

/** By path under `static/dist/`. */
export const STATIC_FILES: Readonly<Record<string, StaticFile>> = {
  'patternfly.min.css': { contentType: CSS, text: PATTERNFLY_MIN_CSS },
  'authentik.css': { contentType: CSS, text: AUTHENTIK_CSS },
  'custom.css': { contentType: CSS, text: CUSTOM_CSS },
  'assets/icons/icon_left_brand.svg': { contentType: 'image/svg+xml', text: ICON_LEFT_BRAND_SVG },
};
