// The attack shape of `tabby matrix` (bench/matrix-shape.ts; issue 10 §5), scaled down: policies whose rules
// name peers one by one (by /32 and by a per-pod label) used to make the matrix ask the engine once per
// (end group, peer) — 100 pods under 40 × 1,500 rules took minutes, 2,000 did not finish. The rule sweep decides
// each end group at once: the engine is asked about no cell here, and every sampled cell still equals the
// engine's own evaluate().
import { describe, expect, it } from 'vitest';

import { reachabilityMatrix } from '../../src/analysis/index.js';
import { PolicyEngine } from '../../src/engine/index.js';
import { matrixShape } from '../../bench/matrix-shape.js';
import { prng } from '../../bench/support.js';

describe('matrix on the attack shape', () => {
  it('sweeps the groups instead of asking the engine per peer, and agrees with evaluate() on sampled cells', () => {
    const engine = new PolicyEngine();
    engine.load(matrixShape({ pods: 300, policies: 8, rulesPerPolicy: 300 }));
    expect(engine.issues()).toEqual([]);
    const t = performance.now();
    const result = reachabilityMatrix(engine, { protocol: 'TCP', port: 8080 });
    const took = performance.now() - t;
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const m = result.value;
    expect(m.endpoints).toHaveLength(300);
    // Every pod is its own class (rules name them by /32 and label), yet they share three signatures per direction.
    expect(m.stats.destinationClasses).toBe(300);
    expect(m.stats.rowGroups).toBeLessThanOrEqual(4);
    expect(m.stats.sweptGroups).toBe(m.stats.rowGroups + m.stats.columnGroups);
    expect(m.stats.engineEvaluations).toBe(0);
    const allowed = m.allowedCount();
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThan(300 * 300);

    const rand = prng(3);
    let checked = 0;
    for (let k = 0; k < 1500; k++) {
      const i = Math.floor(rand() * 300);
      const j = Math.floor(rand() * 300);
      const r = engine.evaluate({ from: m.endpoints[i]!.ref, to: m.endpoints[j]!.ref, protocol: 'TCP', port: 8080 });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      expect(m.allowed(i, j), `${m.endpoints[i]!.ref} → ${m.endpoints[j]!.ref}`).toBe(r.value.verdict === 'Allow');
      checked++;
    }
    expect(checked).toBe(1500);
    // Generous for a shared machine: per (group, peer) evaluation took tens of seconds at this size.
    expect(took).toBeLessThan(20_000);
  });
});
