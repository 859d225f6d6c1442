// The package entry (package.json "exports" → dist/index.js, compiled from src/index.ts) is a library: a user
// loads manifests, builds the engine, asks for a verdict with its trace, and runs the analyses, importing
// nothing but 'tabby'.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as tabby from '../src/index.js';
import {
  loadResources,
  PolicyEngine,
  policiesFor,
  reachabilityImpact,
  reachabilityMatrix,
  selectMatches,
} from '../src/index.js';

const root = join(import.meta.dirname, '..');

describe('the package entry', () => {
  it('is what package.json exports', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string>; types: string };
    expect(pkg.exports['.']).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.ts');
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
  });

  it('exports the engine and the analyses beside the selector and resource APIs', () => {
    for (const name of ['parseSelector', 'loadResources', 'validateResource', 'convertKubernetesPolicy', 'PolicyEngine',
      'reachabilityMatrix', 'reachabilityImpact', 'policiesFor', 'selectMatches', 'compareTiers', 'protocolNumber']) {
      expect(typeof (tabby as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('decides a flow, lists policies, matrices and impacts from manifests, all through the entry', async () => {
    const loaded = await loadResources([join(root, 'examples/cluster.yaml'), join(root, 'examples/default-deny.yaml')]);
    expect(loaded.issues).toEqual([]);
    const resources = loaded.resources.map((r) => r.resource);
    const engine = new PolicyEngine();
    engine.load(resources);

    const verdict = engine.evaluate({ from: 'shop/frontend', to: 'shop/backend', protocol: 'TCP', port: 8080 });
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(['Allow', 'Deny']).toContain(verdict.value.verdict);

    const listed = policiesFor(engine, 'shop/backend');
    expect(listed.ok).toBe(true);
    const matrix = reachabilityMatrix(engine, { protocol: 'TCP', port: 8080 });
    expect(matrix.ok && matrix.value.endpoints.map((e) => e.ref)).toContain('shop/backend');
    const selected = selectMatches(engine, 'all()', {});
    expect(selected.ok && selected.value.endpoints.length).toBeGreaterThan(0);

    // Without the default-deny manifest some flows change their verdict: the impact lists them.
    const withoutDeny = loaded.resources.filter((l) => !l.source.file.endsWith('default-deny.yaml')).map((l) => l.resource);
    const impact = reachabilityImpact(withoutDeny, resources);
    expect(impact.changed).toBe(true);
    expect(impact.flows.length).toBeGreaterThan(0);
  });
});
