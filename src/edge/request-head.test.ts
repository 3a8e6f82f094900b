import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequestHead } from './request-head.ts';

const head = (...lines: string[]) => lines.join('\r\n');

test('reads a plain GET or HEAD: target, Host, Accept-Encoding, If-None-Match and Connection: close', () => {
  assert.deepEqual(parseRequestHead(head('GET /a.js?x=1 HTTP/1.1', 'Host: cdn.test', 'Accept-Encoding: gzip, br', 'User-Agent: x', 'If-None-Match:  "e1" ')), {
    method: 'GET', target: '/a.js?x=1', host: 'cdn.test', acceptEncoding: 'gzip, br', ifNoneMatch: '"e1"', close: false, contentLength: 0, contentEncoding: undefined, authorization: undefined, origin: undefined, forwardedFor: undefined,
  });
  assert.deepEqual(parseRequestHead(head('HEAD / HTTP/1.1', 'HOST: cdn.test', 'connection: Keep-Alive, Close', 'content-length: 0')), {
    method: 'HEAD', target: '/', host: 'cdn.test', acceptEncoding: undefined, ifNoneMatch: undefined, close: true, contentLength: 0, contentEncoding: undefined, authorization: undefined, origin: undefined, forwardedFor: undefined,
  });
  assert.deepEqual(parseRequestHead('GET /healthz HTTP/1.1'), {
    method: 'GET', target: '/healthz', host: undefined, acceptEncoding: undefined, ifNoneMatch: undefined, close: false, contentLength: 0, contentEncoding: undefined, authorization: undefined, origin: undefined, forwardedFor: undefined,
  });
});

test('reads a POST with its Content-Length and the headers an API answer depends on', () => {
  assert.deepEqual(parseRequestHead(head('POST /v1/t HTTP/1.1', 'Host: api.test', 'content-length: 0012', 'Authorization: Basic a2V5Og==',
    'Origin: https://shop.test', 'X-Forwarded-For: 198.51.100.1, 10.0.0.1', 'Content-Encoding: identity', 'Content-Type: text/plain')), {
    method: 'POST', target: '/v1/t', host: 'api.test', acceptEncoding: undefined, ifNoneMatch: undefined, close: false, contentLength: 12,
    contentEncoding: 'identity', authorization: 'Basic a2V5Og==', origin: 'https://shop.test', forwardedFor: '198.51.100.1, 10.0.0.1',
  });
});

test('leaves every other request to the full server', () => {
  const refused: Record<string, string> = {
    'another method': head('PUT /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: 2'),
    'a POST without Content-Length': head('POST /v1/batch HTTP/1.1', 'Host: a'),
    'a POST with a signed length': head('POST /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: +5'),
    'a POST with a list of lengths': head('POST /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: 5, 5'),
    'a POST with a huge length': head('POST /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: 9999999999999999'),
    'a chunked POST': head('POST /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Transfer-Encoding: chunked'),
    'two Content-Length fields': head('POST /v1/batch HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 5'),
    'two Authorization fields': head('POST /v1/t HTTP/1.1', 'Host: a', 'Content-Length: 2', 'Authorization: Basic a', 'Authorization: Basic b'),
    'two Origin fields': head('POST /v1/t HTTP/1.1', 'Host: a', 'Content-Length: 2', 'Origin: https://a', 'Origin: https://b'),
    'two Content-Encoding fields': head('POST /v1/t HTTP/1.1', 'Host: a', 'Content-Length: 2', 'Content-Encoding: gzip', 'content-encoding: gzip'),
    'two X-Forwarded-For fields': head('POST /v1/t HTTP/1.1', 'Host: a', 'Content-Length: 2', 'X-Forwarded-For: 1.1.1.1', 'X-Forwarded-For: 2.2.2.2'),
    'a lowercase method': head('get / HTTP/1.1', 'Host: a'),
    'HTTP/1.0': head('GET / HTTP/1.0', 'Host: a'),
    'HTTP/2 prior knowledge': 'PRI * HTTP/2.0',
    'a missing version': 'GET /',
    'two spaces': head('GET  / HTTP/1.1', 'Host: a'),
    'absolute form': head('GET https://a/ HTTP/1.1', 'Host: a'),
    'asterisk form': head('GET * HTTP/1.1', 'Host: a'),
    'a space in the target': head('GET /a b HTTP/1.1', 'Host: a'),
    'a non-ASCII target': head('GET /\u00e9 HTTP/1.1', 'Host: a'),
    'a line without colon': head('GET / HTTP/1.1', 'Host: a', 'oops'),
    'whitespace before the colon': head('GET / HTTP/1.1', 'Host : a'),
    'obs-fold': head('GET / HTTP/1.1', 'Host: a', 'X-A: b', ' c'),
    'a control character': head('GET / HTTP/1.1', 'Host: a', 'X-A: b\u0001'),
    'a bare LF in a value': head('GET / HTTP/1.1', 'Host: a\nX: b'),
    'an empty line inside': head('GET / HTTP/1.1', '', 'Host: a'),
    'two Host fields': head('GET / HTTP/1.1', 'Host: a', 'Host: b'),
    'two Accept-Encoding fields': head('GET / HTTP/1.1', 'Host: a', 'Accept-Encoding: br', 'Accept-Encoding: gzip'),
    'a body': head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 5'),
    'Transfer-Encoding': head('GET / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked'),
    'Expect': head('GET / HTTP/1.1', 'Host: a', 'Expect: 100-continue'),
    'Upgrade': head('GET / HTTP/1.1', 'Host: a', 'Connection: Upgrade', 'Upgrade: websocket'),
    'Connection: upgrade alone': head('GET / HTTP/1.1', 'Host: a', 'Connection: upgrade'),
  };
  for (const [what, text] of Object.entries(refused)) assert.equal(parseRequestHead(text), undefined, what);
});
