import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatIssue, type Issue } from '../../src/api/issues.js';
import { decodeManifests, LOAD_LIMITS, loadResources } from '../../src/api/load/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string | Buffer): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

const lines = (issues: readonly Issue[]): string[] => issues.map((i) => formatIssue(i));

const POLICY = `# a comment
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  selector: app == 'web'
  ingress:
    - action: Allow
      protocol: TCP
      source:
        nets: ["10.0.0.0/8"]
      destination:
        ports: [80, 443]
`;

describe('decodeManifests: positions', () => {
  const [doc] = decodeManifests(POLICY, 'p.yaml').documents;

  it('locates the object and nested fields at their keys and items', () => {
    expect(doc!.source.position).toEqual({ file: 'p.yaml', line: 2, col: 1 });
    expect(doc!.source.positionOf(['spec', 'selector'])).toEqual({ file: 'p.yaml', line: 8, col: 3 });
    expect(doc!.source.positionOf(['spec', 'ingress', 0])).toEqual({ file: 'p.yaml', line: 10, col: 7 });
    expect(doc!.source.positionOf(['spec', 'ingress', 0, 'protocol'])).toEqual({ file: 'p.yaml', line: 11, col: 7 });
    expect(doc!.source.positionOf(['spec', 'ingress', 0, 'source', 'nets', 0])).toEqual({ file: 'p.yaml', line: 13, col: 16 });
    expect(doc!.source.positionOf(['spec', 'ingress', 0, 'destination', 'ports', 1]))
      .toEqual({ file: 'p.yaml', line: 15, col: 21 });
  });

  it('points a missing field at its closest existing parent', () => {
    expect(doc!.source.positionOf(['spec', 'types'])).toEqual({ file: 'p.yaml', line: 7, col: 1 });
    expect(doc!.source.positionOf(['spec', 'ingress', 0, 'destination', 'notPorts', 0]))
      .toEqual({ file: 'p.yaml', line: 14, col: 7 });
    expect(doc!.source.positionOf(['spec', 'egress', 3, 'action'])).toEqual({ file: 'p.yaml', line: 7, col: 1 });
    expect(doc!.source.positionOf([])).toEqual({ file: 'p.yaml', line: 2, col: 1 });
  });

  it('locates fields in JSON, in later documents, and through aliases and merge keys', () => {
    const json = '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "a", "labels": {"x": 1}}\n}';
    const [j] = decodeManifests(json, 'n.json').documents;
    expect(j!.source.positionOf(['metadata', 'labels', 'x'])).toEqual({ file: 'n.json', line: 4, col: 40 });

    const multi = `a: 1\n---\nbase: &b\n  ports: [1, 2]\nuse:\n  <<: *b\n  own: 3\n`;
    const docs = decodeManifests(multi, 'm.yaml').documents;
    expect(docs.map((d) => d.source.document)).toEqual([0, 1]);
    expect(docs[1]!.source.positionOf(['use', 'own'])).toEqual({ file: 'm.yaml', line: 7, col: 3 });
    expect(docs[1]!.source.positionOf(['use', 'ports', 1])).toEqual({ file: 'm.yaml', line: 4, col: 14 });
    expect(docs[1]!.value).toEqual({ base: { ports: [1, 2] }, use: { ports: [1, 2], own: 3 } });
  });

  it('skips empty documents and reports scalars', () => {
    const r = decodeManifests('# nothing\n---\n---\n42\n---\n', 'e.yaml');
    expect(r.documents).toEqual([]);
    expect(lines(r.issues)).toEqual([
      'e.yaml:4:1: document is a number; expected a resource (a mapping with apiVersion, kind and metadata)',
    ]);
  });

  it('reports YAML syntax errors with their position and keeps the other documents', () => {
    const r = decodeManifests('a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n', 's.yaml');
    expect(r.documents.map((d) => d.value)).toEqual([{ a: 1 }, { d: 4 }]);
    expect(r.issues.length).toBeGreaterThan(0);
    expect(r.issues.every((i) => i.code === 'yaml.syntax' && i.position?.file === 's.yaml')).toBe(true);
    expect(r.issues[0]!.position!.line).toBe(4);
    expect(r.issues[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('reports duplicate keys', () => {
    const r = decodeManifests('a: 1\nb: 2\na: 3\n', 'd.yaml');
    expect(lines(r.issues)).toEqual(['d.yaml:3:1: invalid YAML: map keys must be unique']);
  });
});

describe('decodeManifests: lists', () => {
  it('expands a v1 List from kubectl get -o yaml, locating each item', () => {
    const text = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: a
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: b
`;
    const r = decodeManifests(text, 'l.yaml');
    expect(r.issues).toEqual([]);
    expect(r.documents.map((d) => (d.value as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'b']);
    expect(r.documents[1]!.source.position).toEqual({ file: 'l.yaml', line: 10, col: 5 });
    expect(r.documents[1]!.source.positionOf(['metadata', 'name'])).toEqual({ file: 'l.yaml', line: 13, col: 7 });
  });

  it('reports v1 List items without apiVersion or kind (a List names no item type)', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n- kind: Namespace\n  metadata: {name: b}\n- 7\n';
    const r = decodeManifests(text, 'l.yaml');
    expect(r.documents).toEqual([]);
    expect(lines(r.issues)).toEqual([
      'l.yaml:4:3: items[0]: item 0 of the List has no kind: a List does not say what its items are, so every item ' +
        'needs apiVersion and kind (as `kubectl get -o yaml` writes them)',
      'l.yaml:5:3: items[1]: item 1 of the List has no apiVersion: a List does not say what its items are, so every ' +
        'item needs apiVersion and kind (as `kubectl get -o yaml` writes them)',
      'l.yaml:7:3: items[2]: item 2 of the List is a number; expected a resource (a mapping with apiVersion, kind and metadata)',
    ]);
  });

  it('gives items of typed lists (calicoctl NetworkPolicyList, API NetworkPolicyList) their kind', () => {
    const calico = `apiVersion: projectcalico.org/v3
kind: NetworkPolicyList
items:
- metadata: {name: a, namespace: x}
  spec: {selector: all()}
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata: {name: b, namespace: x}
`;
    const r = decodeManifests(calico, 'c.yaml');
    expect(r.issues).toEqual([]);
    expect(r.documents.map((d) => d.value)).toEqual([
      { metadata: { name: 'a', namespace: 'x' }, spec: { selector: 'all()' }, kind: 'NetworkPolicy', apiVersion: 'projectcalico.org/v3' },
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'b', namespace: 'x' } },
    ]);
    const k8s = '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicyList","items":[{"metadata":{"name":"n"}}]}';
    expect(decodeManifests(k8s, 'k.json').documents[0]!.value)
      .toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' });
  });

  it('reports a long run of non-resources briefly', () => {
    const seq = decodeManifests(`[${'1,'.repeat(100)}]`, 's.yaml');
    expect(seq.issues).toHaveLength(21);
    expect(seq.issues[20]!.message).toBe('80 more items of this sequence are not resources');
    const list = decodeManifests(`apiVersion: v1\nkind: List\nitems: [${'x,'.repeat(30)}]\n`, 'l.yaml');
    expect(lines(list.issues).at(-1)).toBe('l.yaml:3:1: items: 10 more items of this List are not resources');
  });

  it('reads empty lists as no objects', () => {
    for (const items of ['items: []', 'items:', 'metadata: {}']) {
      expect(decodeManifests(`apiVersion: v1\nkind: List\n${items}\n`, 'e.yaml')).toEqual({ documents: [], issues: [] });
    }
  });

  it('accepts a document that is a sequence of resources, as calicoctl does', () => {
    const r = decodeManifests('- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- x\n', 's.yaml');
    expect(r.documents).toHaveLength(1);
    expect(r.documents[0]!.source.position).toEqual({ file: 's.yaml', line: 1, col: 3 });
    expect(lines(r.issues)).toEqual([
      's.yaml:2:3: item 1 of the sequence is a string; expected a resource (a mapping with apiVersion, kind and metadata)',
    ]);
  });
});

describe('loadResources', () => {
  it('validates, defaults and locates issues at the offending node', async () => {
    const p = await file('bad/policy.yaml', POLICY.replace('protocol: TCP', 'protocol: tcp').replace('[80, 443]', '[80, 70000]'));
    const r = await loadResources([p]);
    expect(r.resources).toEqual([]);
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path.join('.'), i]));
    expect(byPath['spec.ingress.0.protocol']!.position).toEqual({ file: p, line: 11, col: 7 });
    expect(byPath['spec.ingress.0.destination.ports.1']!.position).toEqual({ file: p, line: 15, col: 21 });
    for (const issue of r.issues) expect(issue.resource).toBe('NetworkPolicy shop/web');
  });

  it('returns valid resources defaulted, with their sources', async () => {
    const p = await file('good/policy.yaml', POLICY);
    const r = await loadResources([p]);
    expect(r.issues).toEqual([]);
    expect(r.resources).toHaveLength(1);
    const { resource, source } = r.resources[0]!;
    if (resource.kind !== 'NetworkPolicy' || resource.apiVersion !== 'projectcalico.org/v3') {
      throw new Error(`expected a Calico NetworkPolicy, got ${resource.apiVersion} ${resource.kind}`);
    }
    expect(resource.spec.tier).toBe('default');
    expect(resource.spec.types).toEqual(['Ingress']);
    expect(source.file).toBe(p);
    expect(source.positionOf(['spec', 'selector']).line).toBe(8);
  });

  it('with validate: false, checks only identity and returns objects as written', async () => {
    const p = await file('raw/p.yaml', POLICY.replace('protocol: TCP', 'protocol: tcp') + '---\nkind: Nope\napiVersion: v9\nmetadata: {name: a}\n');
    const r = await loadResources([p], { validate: false });
    expect(r.resources).toHaveLength(1);
    expect(r.resources[0]!.resource).toMatchObject({ kind: 'NetworkPolicy', spec: { ingress: [{ protocol: 'tcp' }] } });
    expect(r.resources[0]!.resource).not.toHaveProperty('spec.types');
    expect(lines(r.issues)).toEqual([`${p}:17:1: Nope a: kind: unknown resource type "v9 Nope"`]);
  });

  it('reads stdin for -, once', async () => {
    const stdin = Readable.from([Buffer.from(POLICY)]);
    const r = await loadResources(['-', '-'], { stdin });
    expect(r.issues).toEqual([]);
    expect(r.resources).toHaveLength(1);
    expect(r.resources[0]!.source.file).toBe('<stdin>');
    const none = await loadResources(['-']);
    expect(lines(none.issues)).toEqual(['<stdin>: no standard input to read']);
  });

  it('walks directories recursively in sorted order, skipping hidden entries, node_modules and other extensions', async () => {
    const ns = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
    await file('tree/b.yaml', ns('b'));
    await file('tree/a.yml', ns('a'));
    await file('tree/sub/c.json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c' } }));
    await file('tree/sub/deeper/d.YAML', ns('d'));
    await file('tree/.hidden/x.yaml', ns('hidden'));
    await file('tree/.dot.yaml', ns('dotfile'));
    await file('tree/node_modules/pkg/x.yaml', ns('module'));
    await file('tree/README.md', '# not a manifest: {{');
    await file('tree/notes.txt', 'not: [a manifest');
    await symlink(path.join(dir, 'tree'), path.join(dir, 'tree/sub/loop'));
    const r = await loadResources(['tree'], { cwd: dir });
    expect(r.issues).toEqual([]);
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.resources.map((x) => x.source.file)).toEqual([
      'tree/a.yml', 'tree/b.yaml', 'tree/sub/c.json', 'tree/sub/deeper/d.YAML',
    ]);
    // An explicitly named file is read whatever its extension; a file named twice is read once.
    const txt = await file('tree/explicit.txt', ns('e'));
    const again = await loadResources([txt, txt, 'tree/b.yaml'], { cwd: dir });
    expect(again.resources.map((x) => x.resource.metadata.name)).toEqual(['e', 'b']);
  });

  it('reports duplicates at the second definition, naming the first', async () => {
    const a = await file('dup/a.yaml', POLICY);
    const b = await file('dup/b.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n${POLICY}`);
    const k8s = await file('dup/k.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec: {podSelector: {}}\n');
    const r = await loadResources([a, b, k8s]);
    // The Kubernetes NetworkPolicy of the same name is another kind: no clash.
    expect(r.resources.map((x) => `${x.resource.kind} ${x.resource.apiVersion}`)).toEqual([
      'NetworkPolicy projectcalico.org/v3', 'Namespace v1', 'NetworkPolicy networking.k8s.io/v1',
    ]);
    expect(lines(r.issues)).toEqual([
      `${b}:9:3: NetworkPolicy shop/web: metadata.name: defined twice: the same resource is already defined at ${a}:2:1; keep one of them`,
    ]);
  });

  it('treats a namespaced object without namespace as being in default when looking for duplicates', async () => {
    const p = await file('dup/ns.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n');
    const r = await loadResources([p]);
    expect(r.resources).toHaveLength(1);
    expect(r.issues.map((i) => i.code)).toEqual(['load.duplicate']);
  });

  it('reports unreadable paths, naming them, and still loads the rest', async () => {
    const good = await file('mixed/good.yaml', POLICY);
    const r = await loadResources([path.join(dir, 'missing.yaml'), good]);
    expect(r.resources).toHaveLength(1);
    expect(lines(r.issues)).toEqual([`cannot read ${path.join(dir, 'missing.yaml')}: no such file or directory`]);
    expect(r.issues[0]!.code).toBe('load.not-found');
  });

  it('rejects binary, UTF-16 and oversized files with one clear issue each', async () => {
    const bin = await file('limits/bin.yaml', Buffer.from([0x61, 0x3a, 0x20, 0x0a, 0x62, 0xff, 0xfe, 0x00]));
    const utf16 = await file('limits/u16.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a: 1', 'utf16le')]));
    const big = await file('limits/big.yaml', Buffer.alloc(LOAD_LIMITS.maxFileBytes + 1, 0x20));
    const r = await loadResources([bin, utf16, big]);
    expect(lines(r.issues)).toEqual([
      `${bin}:2:2: not a text manifest: byte 0xff at line 2, column 2 is not UTF-8 text (expected UTF-8 YAML or JSON)`,
      `${utf16}:1:1: file is UTF-16 text; save it as UTF-8 (YAML and JSON manifests must be UTF-8)`,
      `${big}:1:1: file too large (8388609 bytes; max 8 MiB); split it into several files`,
    ]);
  });

  it('counts objects across files against one bound', async () => {
    const ns = (name: string): string => `---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;
    const a = await file('budget/a.yaml', ns('a1') + ns('a2'));
    const b = await file('budget/b.yaml', ns('b1') + ns('b2'));
    const c = await file('budget/c.yaml', ns('c1'));
    const r = await loadResources([a, b, c], { maxObjects: 3 });
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['a1', 'a2', 'b1']);
    expect(lines(r.issues)).toEqual([
      `${b}:5:1: too many documents (max 3 objects per load); the rest of the file was not read`,
      `too many objects (max 3 per load); ${c} and later files were not read`,
    ]);
  });

  it('stops reading a stream that exceeds the size limit', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const endless = Readable.from((function* () { for (;;) yield chunk; })());
    const r = await loadResources(['-'], { stdin: endless });
    expect(r.issues.map((i) => i.code)).toEqual(['load.too-large']);
  });
});

describe('decodeManifests: bounds', () => {
  it('rejects alias bombs', () => {
    let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    let prev = 'a';
    for (let i = 0; i < 9; i++) {
      text += `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = `b${i}`;
    }
    const r = decodeManifests(text, 'bomb.yaml');
    expect(r.documents).toEqual([]);
    expect(lines(r.issues)).toEqual([
      'bomb.yaml:1:1: too many alias expansions (max 100; this looks like a YAML alias bomb): write the values out ' +
        'instead of nesting aliases',
    ]);
  });

  it('rejects recursive aliases', () => {
    const r = decodeManifests('spec:\n  x: &x [1, *x]\n', 'rec.yaml');
    expect(r.issues.map((i) => i.code)).toEqual(['load.alias-cycle']);
  });

  it('rejects nesting beyond the limit, flow or block, without overflowing the stack', () => {
    const flow = decodeManifests('['.repeat(1_000_000), 'flow.yaml');
    expect(flow.issues.map((i) => i.code)).toEqual(['load.too-deep']);
    expect(flow.issues[0]!.message).toContain(`max ${LOAD_LIMITS.maxDepth} levels`);
    let block = '';
    for (let i = 0; i < 200; i++) block += `${' '.repeat(i)}a:\n`;
    expect(decodeManifests(block, 'block.yaml').issues.map((i) => i.code)).toEqual(['load.too-deep']);
    expect(decodeManifests('- '.repeat(100_000) + 'x', 'seq.yaml').issues.map((i) => i.code)).toEqual(['load.too-deep']);
    // Exactly at the limit is fine.
    const atLimit = decodeManifests('['.repeat(LOAD_LIMITS.maxDepth) + ']'.repeat(LOAD_LIMITS.maxDepth), 'ok.yaml');
    expect(atLimit.issues.map((i) => i.code)).toEqual(['load.not-object']);
    const over = decodeManifests('['.repeat(LOAD_LIMITS.maxDepth + 1) + ']'.repeat(LOAD_LIMITS.maxDepth + 1), 'over.yaml');
    expect(over.issues.map((i) => i.code)).toEqual(['load.too-deep']);
  });

  it('rejects nesting that only aliases make deep', () => {
    const deep = (n: number, inner: string): string => '['.repeat(n) + inner + ']'.repeat(n);
    const text = `a: &a ${deep(40, '1')}\nb: ${deep(40, '*a')}\n`;
    expect(decodeManifests(text, 'al.yaml').issues.map((i) => i.code)).toEqual(['load.too-deep']);
  });

  it('stops at the object limit', () => {
    const r = decodeManifests(`[${'{a: 1},'.repeat(12)}]`, 'many.yaml', { maxObjects: 10 });
    expect(r.documents).toHaveLength(10);
    expect(lines(r.issues)).toEqual(['many.yaml:1:72: too many objects (max 10 per load); the rest was not read']);
    const docs = decodeManifests('---\na: 1\n'.repeat(12), 'docs.yaml', { maxObjects: 10 });
    expect(docs.documents).toHaveLength(10);
    expect(docs.issues.map((i) => i.code)).toEqual(['load.too-many-objects']);
    // A caller cannot raise the bound above the built-in limit.
    expect(decodeManifests('a: 1', 'x', { maxObjects: 1e9 }).documents).toHaveLength(1);
  });

  it('reports control characters in text', () => {
    expect(lines(decodeManifests('a: 1\nb: \u0007\n', 'c.yaml').issues)).toEqual([
      'c.yaml:2:4: not a text manifest: control character 0x07 at line 2, column 4 (expected UTF-8 YAML or JSON)',
    ]);
  });
});
