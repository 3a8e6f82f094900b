import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { isAppError } from '../core/index.ts';
import { CdnErrors } from './errors.ts';
import { aliasPathOf, renderAliasSnippet, renderSnippet } from './snippet.ts';

// @segment/snippet 5.2.1 min({apiKey:'WRITE_KEY', host:'cdp.customer.com', useHostForBundles:true,
// load:{integrations:{'Segment.io':{apiHost:'api.cdp.customer.com/v1'}}}}), as recorded in segment-compat §2.1.
const OFFICIAL = '!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel=\'canonical\']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src="https://cdp.customer.com/analytics.js/v1/" + key + "/analytics.min.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};analytics._writeKey="WRITE_KEY";analytics._cdn = "https://cdp.customer.com";analytics.SNIPPET_VERSION="5.2.0";\nanalytics.load("WRITE_KEY", {"integrations":{"Segment.io":{"apiHost":"api.cdp.customer.com/v1"}}});\nanalytics.page();\n}}();';

test('renders exactly the official 5.2.1 snippet shape', () => {
  assert.equal(renderSnippet({ writeKey: 'WRITE_KEY', cdnHost: 'cdp.customer.com', apiHost: 'api.cdp.customer.com' }), OFFICIAL);
});

/** Runs a snippet against a minimal DOM and returns the global it installed and the script it inserted. */
function run(snippet: string, globalName: string) {
  const inserted: Array<Record<string, unknown>> = [];
  const first = { parentNode: { insertBefore: (el: Record<string, unknown>) => inserted.push(el) } };
  const window: Record<string, unknown> = {};
  const document = {
    createElement: () => ({ attrs: {} as Record<string, string>, setAttribute(k: string, v: string) { this.attrs[k] = v; } }),
    getElementsByTagName: () => [first],
    querySelector: () => null,
    title: 'T', referrer: '',
  };
  runInNewContext(snippet, { window, document, location: { pathname: '/p', href: 'https://shop.test/p', search: '' }, console });
  return { stub: window[globalName] as unknown[] & Record<string, unknown>, script: inserted[0]! };
}

test('installs a queue under a renamed global that loads the bundle from the CDN host', () => {
  const { stub, script } = run(renderSnippet({ writeKey: 'K1', cdnHost: 'cdn.cdp.shop.test', apiHost: 'api.cdp.shop.test', globalName: 'seg' }), 'seg');
  assert.equal(script.src, 'https://cdn.cdp.shop.test/analytics.js/v1/K1/analytics.min.js');
  assert.deepEqual(script.attrs, { 'data-global-segment-analytics-key': 'seg' });
  assert.equal(stub._writeKey, 'K1');
  assert.equal(stub._cdn, 'https://cdn.cdp.shop.test');
  // The snippet ran in another realm: compare as JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(stub._loadOptions)), { integrations: { 'Segment.io': { apiHost: 'api.cdp.shop.test/v1' } } });
  assert.equal((stub[0] as unknown[])[0], 'page');
});

test('omits the first page call when page is false', () => {
  const { stub } = run(renderSnippet({ writeKey: 'K1', cdnHost: 'cdn.x.test', apiHost: 'api.x.test', page: false }), 'analytics');
  assert.equal(stub.length, 0);
});

test('refuses a global name that is not an identifier, or a reserved word', () => {
  for (const globalName of ['1abc', 'a-b', 'a b', '', 'class', 'x";alert(1);//', 'é']) {
    assert.throws(() => renderSnippet({ writeKey: 'K', cdnHost: 'c.test', apiHost: 'a.test', globalName }), (e) => isAppError(e, CdnErrors.INVALID_GLOBAL_NAME), globalName);
  }
  assert.doesNotThrow(() => renderSnippet({ writeKey: 'K', cdnHost: 'c.test', apiHost: 'a.test', globalName: '$seg_2' }));
});

test('refuses write keys and hosts that would need escaping', () => {
  assert.throws(() => renderSnippet({ writeKey: 'K</script>', cdnHost: 'c.test', apiHost: 'a.test' }), (e) => isAppError(e, CdnErrors.INVALID_WRITE_KEY));
  assert.throws(() => renderSnippet({ writeKey: 'K', cdnHost: 'c.test"', apiHost: 'a.test' }), (e) => isAppError(e, CdnErrors.INVALID_HOST));
});

test('builds alias paths from control-plane ids and refuses other shapes', () => {
  assert.equal(aliasPathOf('ws_abc123', 'src_x9'), '/ws_abc123/src_x9.js');
  for (const [ws, src] of [['ws', 'src_1'], ['ws_1', '../x'], ['ws_1', 'src_A'], ['ws_analytics', 'src_1'], ['ws_1', 'src_1/x']]) {
    assert.throws(() => aliasPathOf(ws!, src!), (e) => isAppError(e, CdnErrors.INVALID_ALIAS_PATH), `${ws}/${src}`);
  }
});

test('renders an alias snippet that loads the library from the alias path and keeps everything else', () => {
  const opts = { writeKey: 'K1', cdnHost: 'cdn.cdp.shop.test', apiHost: 'api.cdp.shop.test', globalName: 'seg' };
  const text = renderAliasSnippet({ ...opts, scriptPath: '/ws_1/src_1.js' });
  const { stub, script } = run(text, 'seg');
  assert.equal(script.src, 'https://cdn.cdp.shop.test/ws_1/src_1.js');
  assert.equal(stub._cdn, 'https://cdn.cdp.shop.test');
  assert.equal(stub._writeKey, 'K1');
  assert.equal(text.includes('analytics.js/v1'), false);
  assert.equal(text.replace('t.src="https://cdn.cdp.shop.test/ws_1/src_1.js"', 'X'),
    renderSnippet(opts).replace('t.src="https://cdn.cdp.shop.test/analytics.js/v1/" + key + "/analytics.min.js"', 'X'));
  assert.throws(() => renderAliasSnippet({ ...opts, scriptPath: '/analytics.js/v1/K1/analytics.min.js' }), (e) => isAppError(e, CdnErrors.INVALID_ALIAS_PATH));
});
