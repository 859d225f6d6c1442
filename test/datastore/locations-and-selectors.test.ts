// Datastore locations (`file:PATH`, `etcd://h:p,...`) and kubectl label selectors, as `--datastore` and `-l` take them.
import { describe, expect, it } from 'vitest';

import { parseDatastoreLocation, parseLabelSelector } from '../../src/datastore/index.js';

describe('parseDatastoreLocation', () => {
  it.each([
    ['file:/var/lib/tabby', { type: 'file', dir: '/var/lib/tabby' }],
    ['file:///var/lib/tabby', { type: 'file', dir: '/var/lib/tabby' }],
    ['./data', { type: 'file', dir: './data' }],
    ['etcd://127.0.0.1:2379', { type: 'etcd', endpoints: ['127.0.0.1:2379'] }],
    ['etcd://a:1, b:2,', { type: 'etcd', endpoints: ['a:1', 'b:2'] }],
    ['http://10.0.0.1:2379', { type: 'etcd', endpoints: ['10.0.0.1:2379'] }],
    ['etcd+https://e.example:2379', { type: 'etcd', endpoints: ['https://e.example:2379'] }],
    ['etcds://e.example:2379', { type: 'etcd', endpoints: ['https://e.example:2379'] }],
    ['etcd://[::1]:2379', { type: 'etcd', endpoints: ['[::1]:2379'] }],
  ])('%s', (text, value) => {
    expect(parseDatastoreLocation(text)).toEqual({ ok: true, value });
  });

  it.each([
    ['', /empty datastore location/],
    ['etcd://', /no etcd endpoint/],
    ['etcd://host', /'host' is not HOST:PORT/],
    ['redis://x:1', /unsupported datastore scheme/],
    ['file:', /file: needs a directory/],
    ['etcd:127.0.0.1:2379', /unsupported datastore scheme/],
    ['foo:/x', /unsupported datastore scheme/],
  ])('rejects %j', (text, message) => {
    const r = parseDatastoreLocation(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.message).toMatch(message);
  });
});

describe('parseLabelSelector (kubectl -l)', () => {
  const labels = { app: 'web', env: 'prod', tier: '3' };
  it.each([
    ['', true], ['app', true], ['!app', false], ['missing', false], ['!missing', true],
    ['app=web', true], ['app==web', true], ['app=db', false], ['app!=db', true], ['missing!=x', true],
    ['env in (prod,stage)', true], ['env notin (prod)', false], ['missing notin (a)', true], ['missing in (a)', false],
    ['tier>2', true], ['tier<3', false], ['app>1', false],
    ['app=web,env=prod', true], ['app=web,env=dev', false], ['app=web, env in (dev, prod), !legacy', true],
    ['example.com/team', false],
  ])('%j → %s', (sel, expected) => {
    const r = parseLabelSelector(sel);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value(labels)).toBe(expected);
  });

  it.each(['app in web', 'app=,', 'a b', 'Bad Key=1', 'x=y z', 'tier>high'])('rejects %j', (sel) => {
    expect(parseLabelSelector(sel).ok).toBe(false);
  });
});
