// Engine tests as named states, not scripts (felix/calc states_for_test.go + calc_graph_fv_test.go): each state
// is a set of resources with the per-endpoint tier and policy lists it must produce. The output may depend only
// on the state, never on the path taken to reach it, so every state is built with its resources injected
// forward, reversed and shuffled; every list of states is walked forward and backward with incremental
// transitions; and every result is compared with a from-scratch engine — including the view a dataplane
// rebuilds from the change feed alone.

import { describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { PolicyEngine, type Stage } from '../../src/engine/index.js';
import {
  FeedMirror,
  gnp,
  hostEndpoint,
  namespace,
  np,
  pod,
  sgnp,
  shuffled,
  snapshot,
  stageLists,
  tier,
  transition,
  type TierSummary,
} from './support.js';

type Lists = { ingress: TierSummary[]; egress: TierSummary[] };

interface State {
  name: string;
  resources: Resource[];
  /** ref → stage → lists; endpoints not named here must have no policies in any stage. */
  expected: Record<string, Partial<Record<Stage, Lists>>>;
}

const NONE: Lists = { ingress: [], egress: [] };
const allow = { action: 'Allow' as const };

const base: Resource[] = [
  namespace('default'),
  namespace('other', { env: 'prod' }),
  pod('default', 'web', '10.0.0.1', { app: 'web' }),
  pod('default', 'db', '10.0.0.2', { app: 'db' }),
  pod('other', 'client', '10.0.1.1', { app: 'client' }),
];

const allowAll = gnp('allow-all', { selector: 'all()', ingress: [allow], egress: [allow] });
const AA: TierSummary = ['default', 'Deny', ['GlobalNetworkPolicy:allow-all']];

const tiered: Resource[] = [
  ...base,
  allowAll,
  tier('security', 10, 'Pass'),
  tier('platform', 20),
  gnp('sec-web', { tier: 'security', selector: "app == 'web'", ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }] }),
  np('default', 'db-in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] }),
  gnp('platform-egress', { tier: 'platform', selector: 'all()', egress: [{ action: 'Pass' }] }),
];
const PLATFORM: TierSummary = ['platform', 'Deny', ['GlobalNetworkPolicy:platform-egress']];

const STATES: State[] = [
  { name: 'empty', resources: [], expected: {} },
  { name: 'pods, no policy', resources: base, expected: {} },
  {
    name: 'one global policy in the default tier',
    resources: [...base, allowAll],
    expected: {
      'default/web': { normal: { ingress: [AA], egress: [AA] } },
      'default/db': { normal: { ingress: [AA], egress: [AA] } },
      'other/client': { normal: { ingress: [AA], egress: [AA] } },
    },
  },
  {
    name: 'tiers in order, namespaced policy in its namespace only',
    resources: tiered,
    expected: {
      'default/web': { normal: { ingress: [['security', 'Pass', ['GlobalNetworkPolicy:sec-web']], AA], egress: [PLATFORM, AA] } },
      'default/db': {
        normal: { ingress: [['default', 'Deny', ['GlobalNetworkPolicy:allow-all', 'NetworkPolicy:default/db-in']]], egress: [PLATFORM, AA] },
      },
      'other/client': { normal: { ingress: [AA], egress: [PLATFORM, AA] } },
    },
  },
  {
    name: 'equal orders: the v3.32 name/namespace/kind tie-break; staged policies listed',
    resources: [
      ...tiered,
      gnp('zz-first', { order: 1, selector: "app == 'db'", ingress: [{ action: 'Log' }] }),
      np('default', 'zz-first', { order: 1, selector: "app == 'db'", ingress: [allow] }),
      sgnp('staged-db', { order: 1, selector: "app == 'db'", types: ['Ingress'], ingress: [{ action: 'Deny' }] }),
    ],
    expected: {
      'default/web': { normal: { ingress: [['security', 'Pass', ['GlobalNetworkPolicy:sec-web']], AA], egress: [PLATFORM, AA] } },
      'default/db': {
        normal: {
          ingress: [['default', 'Deny', [
            'StagedGlobalNetworkPolicy:staged-db(staged)',
            'GlobalNetworkPolicy:zz-first',
            'NetworkPolicy:default/zz-first',
            'GlobalNetworkPolicy:allow-all',
            'NetworkPolicy:default/db-in',
          ]]],
          egress: [PLATFORM, AA],
        },
      },
      'other/client': { normal: { ingress: [AA], egress: [PLATFORM, AA] } },
    },
  },
  {
    name: 'namespaceSelector sees namespace labels through the kns profile',
    resources: [...base, gnp('prod-only', { selector: 'all()', namespaceSelector: "env == 'prod'", ingress: [allow] })],
    expected: { 'other/client': { normal: { ingress: [['default', 'Deny', ['GlobalNetworkPolicy:prod-only']]], egress: [] } } },
  },
  {
    name: 'a namespace relabelled into the selector',
    resources: [
      ...base.map((r) => (r.kind === 'Namespace' && r.metadata.name === 'default' ? namespace('default', { env: 'prod' }) : r)),
      gnp('prod-only', { selector: 'all()', namespaceSelector: "env == 'prod'", ingress: [allow] }),
    ],
    expected: Object.fromEntries(['default/web', 'default/db', 'other/client'].map((ref) => [
      ref, { normal: { ingress: [['default', 'Deny', ['GlobalNetworkPolicy:prod-only']]], egress: [] } },
    ])),
  },
  {
    name: 'a tier without a Tier resource sorts last and denies',
    resources: [
      ...base,
      gnp('ghost-pol', { tier: 'ghost', selector: "app == 'web'", ingress: [allow] }),
      tier('real', 5),
      gnp('real-pol', { tier: 'real', selector: "app == 'web'", ingress: [allow] }),
      tier('late', 1e9),
      gnp('late-pol', { tier: 'late', selector: "app == 'web'", ingress: [allow] }),
    ],
    expected: {
      'default/web': {
        normal: {
          ingress: [
            ['real', 'Deny', ['GlobalNetworkPolicy:real-pol']],
            ['late', 'Deny', ['GlobalNetworkPolicy:late-pol']],
            ['ghost', 'Deny', ['GlobalNetworkPolicy:ghost-pol']],
          ],
          egress: [],
        },
      },
    },
  },
  {
    name: 'host endpoint stages; doNotTrack and preDNAT never reach workloads',
    resources: [
      ...base,
      hostEndpoint('node1-eth0', 'node1', ['192.0.2.1'], { role: 'node' }),
      gnp('hep-normal', { selector: "role == 'node'", ingress: [allow], egress: [allow] }),
      gnp('hep-untracked', { selector: "role == 'node'", doNotTrack: true, applyOnForward: true, ingress: [allow] }),
      gnp('hep-prednat', { selector: "role == 'node'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny' }] }),
      gnp('hep-forward', { selector: "role == 'node'", applyOnForward: true, egress: [allow] }),
      gnp('dnt-all', { selector: 'all()', doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Deny' }] }),
    ],
    expected: {
      'hep:node1-eth0': {
        normal: {
          ingress: [['default', 'Deny', ['GlobalNetworkPolicy:hep-normal']]],
          egress: [['default', 'Deny', ['GlobalNetworkPolicy:hep-forward', 'GlobalNetworkPolicy:hep-normal']]],
        },
        untracked: { ingress: [['default', 'Pass', ['GlobalNetworkPolicy:dnt-all', 'GlobalNetworkPolicy:hep-untracked']]], egress: [] },
        preDNAT: { ingress: [['default', 'Pass', ['GlobalNetworkPolicy:hep-prednat']]], egress: [] },
        forward: { ingress: [], egress: [['default', 'Deny', ['GlobalNetworkPolicy:hep-forward']]] },
      },
    },
  },
];

function build(resources: readonly Resource[]): PolicyEngine {
  const engine = new PolicyEngine();
  engine.load(resources);
  return engine;
}

function expectState(engine: PolicyEngine, state: State): void {
  for (const ep of engine.endpoints()) {
    const stages: Stage[] = ep.kind === 'HostEndpoint' ? ['normal', 'untracked', 'preDNAT', 'forward'] : ['normal'];
    for (const stage of stages) {
      const want = state.expected[ep.ref]?.[stage] ?? NONE;
      expect(stageLists(engine, ep.ref, stage), `${state.name}: ${ep.ref} (${stage})`).toEqual(want);
    }
  }
  for (const ref of Object.keys(state.expected)) expect(engine.endpoint(ref), `${state.name}: ${ref} exists`).toBeDefined();
  expect(engine.issues()).toEqual([]);
}

describe('engine states', () => {
  for (const state of STATES) {
    it(`${state.name}: same result for forward, reversed and shuffled injection`, () => {
      const reference = build(state.resources);
      expectState(reference, state);
      const want = snapshot(reference);
      const orders = [[...state.resources].reverse(), ...[1, 2, 3].map((seed) => shuffled(state.resources, seed))];
      for (const order of orders) {
        const engine = build(order);
        expectState(engine, state);
        expect(snapshot(engine)).toEqual(want);
      }
    });
  }

  const walks: Array<[string, State[]]> = [
    ['forward', STATES],
    ['backward', [...STATES].reverse()],
    ['shuffled', shuffled(STATES, 7)],
  ];
  for (const [label, walk] of walks) {
    it(`walks every state ${label} incrementally; state and change feed equal a fresh calculation`, () => {
      const engine = new PolicyEngine();
      engine.markInSync();
      const mirror = new FeedMirror();
      let current: Resource[] = [];
      for (const state of walk) {
        for (const update of transition(current, state.resources)) engine.apply(update);
        current = state.resources;
        mirror.apply(engine.flush());
        expectState(engine, state);
        const fresh = build(state.resources);
        const want = snapshot(fresh);
        expect(snapshot(engine), state.name).toEqual(want);
        expect(mirror.view(), `${state.name} (change feed)`).toEqual({
          endpoints: Object.fromEntries(Object.entries(want.endpoints as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))),
          ipSets: want.ipSets,
          policies: want.policies,
        });
      }
    });
  }
});
