// A person in headless Chromium logs in to a proxy-mode application through the outpost and the
// development core's login page, in both API generations: password, password + TOTP, a user the
// application refuses, a websocket page after login, and sign-out. See support.ts for the stack.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { APP, BOB_TOTP_SECRET, assertChromium, launchChromium, startBrowserStack, submitLogin, totp, withPage, type BrowserStack } from './support.ts';

const COOKIE = 'authentik_proxy_AbCdEfGh';

test('Chromium is installed (apt-get install chromium)', () => {
  assertChromium();
});

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function greeting(page: Page): Promise<string> {
  return (await page.locator('#greeting').textContent({ timeout: 15_000 })) ?? '';
}

for (const version of AUTHENTIK_VERSIONS) {
  describe(`a person in Chromium, proxy mode, authentik ${version}`, () => {
    let stack: BrowserStack;
    before(async () => {
      stack = await startBrowserStack(version);
    });
    after(async () => {
      await stack?.close();
    });

    test('alice opens the app, logs in at the core and lands on the page she asked for', async () => {
      await withPage(browser, stack, `${version}-alice`, async (page, context) => {
        await page.goto(`${APP}/some/path?x=1`);
        // The outpost sent the browser to the core's login page (through /start and authorize).
        assert.ok(page.url().startsWith(`${stack.core.url}/if/flow/login-flow/?next=`), page.url());
        await page.locator('#uid_field').waitFor({ timeout: 10_000 });
        assert.equal(await page.locator('#password').getAttribute('type'), 'password');
        await submitLogin(page, stack.core, 'alice', 'alice-password');
        await page.waitForURL(`${APP}/some/path?x=1`, { timeout: 15_000 });
        assert.equal(await greeting(page), 'Hello, alice!');
        assert.equal(await page.locator('#path').textContent(), '/some/path?x=1');

        // fetch() from the page carries the session cookie; the upstream sees the identity headers.
        const headers = (await page.evaluate(async () => (await fetch('/headers')).json())) as Record<string, string>;
        assert.equal(headers['x-authentik-username'], 'alice');
        assert.equal(headers['x-authentik-email'], 'a@x');
        assert.equal(headers['x-authentik-groups'], 'g1|g2');
        assert.equal(headers['host'], 'app.example.com');

        const cookie = (await context.cookies(APP)).find((c) => c.name === COOKIE);
        assert.ok(cookie, 'the outpost session cookie is set');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.secure, true);
        assert.equal(cookie.sameSite, 'Lax');
        assert.equal(cookie.domain, 'app.example.com');
        // The page's script cannot read it.
        assert.equal(await page.evaluate<boolean>("document.cookie.includes('authentik_proxy_')"), false);
        // Every app request went to the outpost (Chromium's own background calls may be refused).
        assert.deepEqual(stack.tunnel.refused.filter((r) => r.includes('example.com') || r.includes('127.0.0.1')), []);
      });
    });

    test('a wrong password shows an error on the login page and the next try works', async () => {
      await withPage(browser, stack, `${version}-wrong-password`, async (page) => {
        await page.goto(`${APP}/`);
        await submitLogin(page, stack.core, 'alice', 'not-her-password');
        await page.locator('#error').filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
        assert.match((await page.locator('#error').textContent()) ?? '', /Failed to authenticate/);
        // The username stays typed in, the password is cleared and has the focus.
        assert.equal(await page.locator('#uid_field').inputValue(), 'alice');
        assert.equal(await page.locator('#password').inputValue(), '');
        assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'password');
        await page.keyboard.type('alice-password');
        await page.keyboard.press('Enter');
        await page.waitForURL(`${APP}/`, { timeout: 15_000 });
        assert.equal(await greeting(page), 'Hello, alice!');
      });
    });

    test('bob logs in with his password and a TOTP code', async () => {
      await withPage(browser, stack, `${version}-bob-totp`, async (page) => {
        await page.goto(`${APP}/dashboard`);
        await submitLogin(page, stack.core, 'bob', 'bob-password');
        const code = page.locator('#code');
        await code.waitFor({ timeout: 10_000 });
        assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
        // A wrong code first: the error shows and the field is there again.
        const right = totp(BOB_TOTP_SECRET);
        await code.fill(right === '000000' ? '111111' : '000000');
        await page.locator('#submit').click();
        await page.locator('#error').filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
        assert.equal(await code.inputValue(), '');
        await code.fill(totp(BOB_TOTP_SECRET));
        await page.locator('#submit').click();
        await page.waitForURL(`${APP}/dashboard`, { timeout: 15_000 });
        assert.equal(await greeting(page), 'Hello, bob!');
      });
    });

    test('carol, whom the application does not admit, gets the access-denied page and never reaches the upstream', async () => {
      await withPage(browser, stack, `${version}-carol-denied`, async (page) => {
        await page.goto(`${APP}/secret`);
        await submitLogin(page, stack.core, 'carol', 'carol-password');
        await page.locator('h1', { hasText: 'Permission denied' }).waitFor({ timeout: 15_000 });
        assert.deepEqual(stack.upstream.paths.filter((p) => p.startsWith('/secret')), []);
        assert.ok(page.url().startsWith(`${stack.core.url}/application/o/authorize/`), page.url());
        assert.match((await page.locator('#error').textContent()) ?? '', /You do not have access to App One/);
        // Still no session at the outpost: the app asks for a login again.
        await page.goto(`${APP}/secret`);
        assert.ok(!page.url().startsWith(APP), page.url());
      });
    });

    test('after login a page of the app talks to the upstream over a websocket through the outpost', async () => {
      await withPage(browser, stack, `${version}-websocket`, async (page) => {
        await page.goto(`${APP}/ws-page`);
        await submitLogin(page, stack.core, 'alice', 'alice-password');
        await page.waitForURL(`${APP}/ws-page`, { timeout: 15_000 });
        await page.locator('#echo', { hasText: ':' }).waitFor({ timeout: 10_000 });
        assert.equal(await page.locator('#echo').textContent(), 'alice:hello');
        assert.ok(stack.upstream.paths.includes('/ws'), 'the upgrade reached the upstream');
      });
    });

    test('sign-out ends the session: the next visit asks for a login again', async () => {
      await withPage(browser, stack, `${version}-sign-out`, async (page, context) => {
        await page.goto(`${APP}/`);
        await submitLogin(page, stack.core, 'alice', 'alice-password');
        await page.waitForURL(`${APP}/`, { timeout: 15_000 });
        assert.equal(await greeting(page), 'Hello, alice!');

        await page.goto(`${APP}/outpost.goauthentik.io/sign_out`);
        assert.ok(page.url().startsWith(`${stack.core.url}/application/o/app1/end-session/`), page.url());
        await page.locator('h1', { hasText: 'Signed out' }).waitFor({ timeout: 10_000 });
        assert.equal((await context.cookies(APP)).some((c) => c.name === COOKIE), false, 'the outpost cookie is gone');

        await page.goto(`${APP}/`);
        await page.waitForURL((u) => u.href.startsWith(`${stack.core.url}/if/flow/login-flow/`), { timeout: 15_000 });
        await page.locator('#uid_field').waitFor({ timeout: 10_000 });
        // And logging in again works.
        await submitLogin(page, stack.core, 'alice', 'alice-password');
        await page.waitForURL(`${APP}/`, { timeout: 15_000 });
        assert.equal(await greeting(page), 'Hello, alice!');
      });
    });
  });
}
