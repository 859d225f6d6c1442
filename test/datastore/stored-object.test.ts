// The shared decoder of stored objects: valid objects come back validated, anything else is a SkippedObject with a
// one-line reason naming the key, and nothing throws (issue 10 §4).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { keyPath } from '../../src/datastore/index.js';
import { decodeStoredObject } from '../../src/datastore/stored-object.js';
import { gnp, knp, np } from './fixtures.js';

const gnpPath = keyPath({ kind: 'GlobalNetworkPolicy', name: 'a' });

describe('decodeStoredObject', () => {
  it('decodes a stored object as the stores write it (uid, creationTimestamp, no resourceVersion)', () => {
    const stored = { ...gnp('a'), metadata: { name: 'a', uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' } };
    const d = decodeStoredObject(Buffer.from(JSON.stringify(stored)), { path: gnpPath, revision: 4 });
    expect(d?.ok).toBe(true);
    if (d?.ok) {
      expect(d.value.metadata.uid).toBe('u-1');
      expect(d.key).toEqual({ kind: 'GlobalNetworkPolicy', name: 'a' });
    }
    const n = decodeStoredObject(JSON.stringify(np('ns1', 'p')), { path: keyPath({ kind: 'NetworkPolicy', namespace: 'ns1', name: 'p' }) });
    expect(n?.ok).toBe(true);
    const k = decodeStoredObject(knp('ns1', 'k'), { path: keyPath({ kind: 'KubernetesNetworkPolicy', namespace: 'ns1', name: 'k' }) });
    expect(k?.ok).toBe(true);
  });

  it("skips the issue's object (metadata: null) with a reason naming the key", () => {
    const d = decodeStoredObject('{"kind":"GlobalNetworkPolicy","metadata":null}', {
      path: 'projectcalico.org/globalnetworkpolicies/garbage', where: '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/garbage', revision: 9,
    });
    expect(d?.ok).toBe(false);
    if (d && !d.ok) {
      expect(d.skipped.key).toBe('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/garbage');
      expect(d.skipped.resource).toEqual({ kind: 'GlobalNetworkPolicy', name: 'garbage' });
      expect(d.skipped.revision).toBe(9);
      expect(d.skipped.reason).toMatch(/invalid stored object/);
      expect(d.skipped.reason).not.toContain('\n');
    }
  });

  it('skips bytes that are not JSON, and an object stored under another key', () => {
    const bad = decodeStoredObject(Buffer.from([0xff, 0x00, 0x7b]), { path: gnpPath });
    expect(bad?.ok).toBe(false);
    if (bad && !bad.ok) expect(bad.skipped.reason).toMatch(/not JSON/);
    const moved = decodeStoredObject(JSON.stringify(gnp('b')), { path: gnpPath });
    expect(moved?.ok).toBe(false);
    if (moved && !moved.ok) expect(moved.skipped.reason).toMatch(/GlobalNetworkPolicy\(b\).*GlobalNetworkPolicy\(a\)/);
  });

  it('ignores keys that are not object keys', () => {
    expect(decodeStoredObject('{}', { path: 'projectcalico.org/unknownthings/x' })).toBeUndefined();
  });

  it('escapes control and bidi characters in reasons', () => {
    const d = decodeStoredObject('{"apiVersion":"projectcalico.org/v3","kind":"Nope\\n\\u001b[31m\\u202e"}', { path: gnpPath });
    expect(d?.ok).toBe(false);
    if (d && !d.ok) expect(d.skipped.reason).not.toMatch(/[\n\u001b\u202e]/);
  });

  it('never throws on random bytes or random JSON', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const d = decodeStoredObject(bytes, { path: gnpPath });
      expect(d?.ok === true || d?.ok === false).toBe(true);
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      decodeStoredObject(JSON.stringify(v), { path: gnpPath });
      decodeStoredObject(v, { path: gnpPath });
    }), { numRuns: 300 });
    // Deep nesting: JSON.parse or the validator may hit the stack; still a skip.
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(decodeStoredObject(deep, { path: gnpPath })?.ok).toBe(false);
  });
});
