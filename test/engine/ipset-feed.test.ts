// The IP set part of the change feed: a set the dataplane was told about must be removed from it when no rule
// needs it any more, however its references came and went between two flushes. Found by the incremental
// property (seed -366864046): a set emitted, released, re-acquired by another policy and released again before
// the next flush was treated as never emitted, so the dataplane kept it.

import { describe, expect, it } from 'vitest';

import type { Resource, ResourceUpdate } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';
import { FeedMirror, gnp, keyOf, namespace, np, pod } from './support.js';

const prodUntiered = { selector: '!has(tier)', namespaceSelector: "env == 'prod'" };
const untieredRule = { action: 'Allow' as const, destination: prodUntiered };

/** Applies updates, flushing after each batch; returns the mirror and every flushed change. */
function run(batches: ResourceUpdate[][]): { engine: PolicyEngine; mirror: FeedMirror } {
  const engine = new PolicyEngine();
  const mirror = new FeedMirror();
  engine.markInSync();
  for (const batch of batches) {
    for (const u of batch) engine.apply(u);
    mirror.apply(engine.flush());
  }
  return { engine, mirror };
}

const up = (resource: Resource): ResourceUpdate => ({ type: 'upsert', resource });
const del = (resource: Resource): ResourceUpdate => ({ type: 'delete', key: keyOf(resource) });

function freshView(resources: Resource[]): unknown {
  const fresh = new PolicyEngine();
  fresh.load(resources);
  const mirror = new FeedMirror();
  mirror.apply(fresh.flush());
  return mirror.view();
}

describe('IP sets in the change feed', () => {
  it('removes an emitted set released, re-acquired and released again within one flush', () => {
    const withRule = gnp('gp0', { selector: 'all()', ingress: [untieredRule] });
    const withoutRule = gnp('gp0', { selector: 'all()' });
    const { engine, mirror } = run([
      [up(namespace('ns-a')), up(withRule)],
      [up(withoutRule), up(withRule), up(withoutRule)],
    ]);
    expect(engine.ipSets()).toEqual([]);
    expect(mirror.view().ipSets).toEqual({});
  });

  it('emits ipset-removed for it, and nothing for a set added and released unseen', () => {
    const engine = new PolicyEngine();
    engine.markInSync();
    engine.apply(up(gnp('gp0', { selector: 'all()', ingress: [untieredRule] })));
    const [added] = engine.flush().filter((c) => c.type === 'ipset-added');
    expect(added).toBeDefined();
    const id = added!.type === 'ipset-added' ? added!.ipSet.id : '';
    engine.apply(up(gnp('gp0', { selector: 'all()' })));
    engine.apply(up(np('ns-a', 'np0', { ingress: [untieredRule] })));
    engine.apply(del(np('ns-a', 'np0')));
    expect(engine.flush().filter((c) => c.type.startsWith('ipset'))).toEqual([{ type: 'ipset-removed', id }]);

    engine.apply(up(np('ns-a', 'np0', { ingress: [untieredRule] })));
    engine.apply(del(np('ns-a', 'np0')));
    expect(engine.flush().filter((c) => c.type.startsWith('ipset'))).toEqual([]);
  });

  it('matches a full rebuild for the property counterexample (seed -366864046)', () => {
    // A GNP's notSelector and an NP's selector that fold into the same set (same canonical selector).
    const p0 = pod('ns-a', 'p0', '10.9.0.1', {}, { node: 'n1' });
    const updates: ResourceUpdate[] = [
      up(namespace('ns-a')), up(namespace('ns-b')), up(p0), up(p0), up(p0),
      up(gnp('gp0', { selector: 'all()', ingress: [{ action: 'Allow', destination: { notSelector: 'has(tier)', namespaceSelector: "env == 'prod'" } }], egress: [] })),
      up(np('ns-a', 'np0', { selector: 'all()', ingress: [], egress: [] })),
      up(np('ns-a', 'np0', { selector: 'all()', ingress: [], egress: [] })),
      up(gnp('gp0', { selector: 'all()', ingress: [], egress: [] })),
      up(np('ns-a', 'np0', { selector: 'all()', ingress: [untieredRule], egress: [] })),
      del(np('ns-a', 'np0')),
    ];
    // The property flushes after every fourth update.
    const batches: ResourceUpdate[][] = [];
    for (let i = 0; i < updates.length; i += 4) batches.push(updates.slice(i, i + 4));
    const { mirror } = run(batches);
    expect(mirror.view()).toEqual(freshView([namespace('ns-a'), namespace('ns-b'), p0, gnp('gp0', { selector: 'all()', ingress: [], egress: [] })]));
  });
});
