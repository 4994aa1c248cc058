// The static assets' path check and revalidation, without a server: a request names a file only
// by the exact bytes of one of the shipped names; every other spelling is no file.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { notModified, STATIC_PREFIX, staticAsset } from '../../../src/proxy/handlers/static.ts';
import { STATIC_FILES } from '../../../src/proxy/static/assets.ts';

const SHIPPED = {
  'patternfly.min.css': 'text/css; charset=utf-8',
  'authentik.css': 'text/css; charset=utf-8',
  'custom.css': 'text/css; charset=utf-8',
  'assets/icons/icon_left_brand.svg': 'image/svg+xml',
};

describe('static assets', () => {
  test('each shipped file by its exact name, with its type and a strong ETag of its bytes', () => {
    assert.deepEqual(Object.keys(STATIC_FILES).sort(), Object.keys(SHIPPED).sort());
    for (const [name, type] of Object.entries(SHIPPED)) {
      const asset = staticAsset(`${STATIC_PREFIX}${name}`);
      assert.ok(asset, name);
      assert.equal(asset.contentType, type);
      const bytes = Buffer.from(STATIC_FILES[name]!.text, 'utf8');
      assert.deepEqual(asset.body, bytes);
      assert.match(asset.etag, /^"[A-Za-z0-9_-]{27}"$/);
      assert.equal(asset.etag, `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`);
    }
  });

  test('directories, unknown names and every traversal spelling name no file', () => {
    for (const rest of [
      '',
      'assets/',
      'assets/icons/',
      'assets/icons/icon.png',
      'assets/images/flow_background.jpg',
      'custom.css/',
      'custom.css?x',
      'Custom.css',
      './custom.css',
      '../dist/custom.css',
      'assets/../custom.css',
      'assets/icons/../../custom.css',
      '%2e%2e/dist/custom.css',
      '%2E%2E%2Fdist%2Fcustom.css',
      'assets%2ficons%2ficon_left_brand.svg',
      'assets\\icons\\icon_left_brand.svg',
      '..\\custom.css',
      '%63ustom.css',
      'custom.css%00',
      '/custom.css',
      '//custom.css',
      // Names every object has: the table is no plain object.
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ]) {
      assert.equal(staticAsset(`${STATIC_PREFIX}${rest}`), undefined, rest);
    }
    assert.equal(staticAsset('/outpost.goauthentik.io/static/custom.css'), undefined);
    assert.equal(staticAsset('/custom.css'), undefined);
    assert.equal(staticAsset('/outpost.goauthentik.io/static/dist'), undefined);
  });

  test('If-None-Match: the tag, a weak copy of it, one of a list, or *', () => {
    const etag = '"abc"';
    assert.equal(notModified(undefined, etag), false);
    assert.equal(notModified('"abc"', etag), true);
    assert.equal(notModified('W/"abc"', etag), true);
    assert.equal(notModified('"x", "abc"', etag), true);
    assert.equal(notModified('*', etag), true);
    assert.equal(notModified('"abcd"', etag), false);
    assert.equal(notModified('abc', etag), false);
    assert.equal(notModified('', etag), false);
  });

  test('the stylesheet is self-contained for the outpost\'s pages and written for them', () => {
    const css = staticAsset(`${STATIC_PREFIX}patternfly.min.css`)!.body.toString('utf8');
    // The pages link only this sheet: colours, dark mode and the logo live in it.
    assert.match(css, /--outpost-accent/);
    assert.match(css, /prefers-color-scheme: dark/);
    assert.match(css, /url\("assets\/icons\/icon_left_brand\.svg"\)/);
    for (const cls of ['pf-c-login__main', 'pf-c-title', 'pf-m-3xl', 'pf-c-button', 'pf-m-block']) assert.ok(css.includes(`.${cls}`), cls);
    const svg = staticAsset(`${STATIC_PREFIX}assets/icons/icon_left_brand.svg`)!.body.toString('utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.doesNotMatch(svg, /<script|href=/i);
  });
});
