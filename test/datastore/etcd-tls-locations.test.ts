// etcd endpoint lists as calicoctl writes them (ETCD_ENDPOINTS, spec.etcdEndpoints: a scheme per endpoint) and as
// --datastore takes them; TLS locations print as etcds://.
import { describe, expect, it } from 'vitest';

import { formatDatastoreLocation, parseDatastoreLocation, parseEtcdEndpoints } from '../../src/datastore/index.js';

describe('parseEtcdEndpoints', () => {
  it.each([
    ['http://127.0.0.1:2379,http://127.0.0.2:2379', ['127.0.0.1:2379', '127.0.0.2:2379'], false],
    ['https://a:2379, https://b:2379/', ['https://a:2379', 'https://b:2379'], true],
    ['127.0.0.1:2379', ['127.0.0.1:2379'], false],
    ['etcds://a:1,b:2', ['https://a:1', 'https://b:2'], true],
    ['https://[::1]:2379', ['https://[::1]:2379'], true],
  ])('%s', (text, endpoints, tls) => {
    expect(parseEtcdEndpoints(text)).toEqual({ ok: true, value: { endpoints, tls } });
  });

  it.each([
    ['http://a:1,https://b:2', /mix plain and TLS/],
    ['https://a:1,redis://b:2', /unsupported scheme/],
    ['https://a', /'a' is not HOST:PORT/],
    ['https://a:0', /out of range/],
    [' , ', /no etcd endpoint/],
  ])('rejects %j', (text, message) => {
    const r = parseEtcdEndpoints(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.message).toMatch(message);
  });
});

describe('TLS locations', () => {
  it('https:// lists are etcd locations, printed as etcds://', () => {
    const r = parseDatastoreLocation('https://a:1,https://b:2');
    expect(r).toEqual({ ok: true, value: { type: 'etcd', endpoints: ['https://a:1', 'https://b:2'] } });
    if (r.ok) expect(formatDatastoreLocation(r.value)).toBe('etcds://a:1,b:2');
    expect(formatDatastoreLocation({ type: 'etcd', endpoints: ['a:1'] })).toBe('etcd://a:1');
  });
});
