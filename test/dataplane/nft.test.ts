import { describe, expect, it } from 'vitest';

import {
  canonicalElementKey,
  classifyNftStderr,
  FakeNft,
  intervalOf,
  NftError,
  parseListing,
  parseScript,
  Transaction,
  type Chain,
} from '../../src/dataplane/nft/index.js';

const dedent = (text: string): string => {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n').replace(/\s*$/, '\n');
};

const fwd: Chain = { type: 'chain', name: 'fwd-egress', chainType: 'filter', hook: 'forward', priority: 'filter - 10', policy: 'accept' };

function skeleton(tx: Transaction): Transaction {
  return tx
    .add({ type: 'table', comment: 'owned by tabby' })
    .add(fwd)
    .add({ type: 'chain', name: 'we-cali1' })
    .add({ type: 'set', name: 's4-a', keyType: 'ipv4_addr', flags: ['interval'] })
    .add({ type: 'map', name: 'wl-from', keyType: 'ifname', valueType: 'verdict' })
    .add({ type: 'rule', chain: 'fwd-egress', rule: 'iifname "cali*" iifname vmap @wl-from' })
    .add({ type: 'rule', chain: 'fwd-egress', rule: 'iifname "cali*" counter drop', comment: 'unknown interface' })
    .add({ type: 'rule', chain: 'we-cali1', rule: 'ip saddr @s4-a counter accept', comment: 'r1' })
    .add({ type: 'element', set: 's4-a', key: '10.0.0.1' })
    .add({ type: 'element', set: 's4-a', key: '10.1.0.0/16' })
    .add({ type: 'element', set: 'wl-from', key: '"cali1"', value: 'goto we-cali1' });
}

describe('Transaction', () => {
  it('renders the exact script, batching consecutive elements of one set', () => {
    const tx = skeleton(new Transaction('inet', 'tabby'));
    expect(tx.toString()).toBe(dedent(`
      add table inet tabby { comment "owned by tabby" ; }
      add chain inet tabby fwd-egress { type filter hook forward priority filter - 10 ; policy accept ; }
      add chain inet tabby we-cali1
      add set inet tabby s4-a { type ipv4_addr ; flags interval ; }
      add map inet tabby wl-from { type ifname : verdict ; }
      add rule inet tabby fwd-egress iifname "cali*" iifname vmap @wl-from
      add rule inet tabby fwd-egress iifname "cali*" counter drop comment "unknown interface"
      add rule inet tabby we-cali1 ip saddr @s4-a counter accept comment "r1"
      add element inet tabby s4-a { 10.0.0.1, 10.1.0.0/16 }
      add element inet tabby wl-from { "cali1" : goto we-cali1 }
    `));
  });

  it('keeps the first validation error, shows it, and never runs', async () => {
    const tx = new Transaction('inet', 'tabby')
      .add({ type: 'chain', name: 'bad name' })
      .add({ type: 'rule', chain: 'x', rule: 'accept; flush ruleset' });
    expect(tx.error).toMatch(/chain name 'bad name' is not an nft identifier/);
    expect(tx.toString()).toMatch(/# ERROR: chain name 'bad name'/);
    const fake = new FakeNft();
    await expect(fake.run(tx)).rejects.toMatchObject({ code: 'invalid' });
    expect(fake.state).toBeUndefined();
  });

  it('rejects statement injection in rule text and comments', () => {
    expect(new Transaction('inet', 't').add({ type: 'rule', chain: 'c', rule: 'accept\nflush ruleset' }).error).toBeDefined();
    expect(new Transaction('inet', 't').add({ type: 'rule', chain: 'c', rule: 'accept', comment: 'a"b' }).error).toBeDefined();
    expect(new Transaction('inet', 't').add({ type: 'element', set: 's', key: '1.2.3.4 }, { 5.6.7.8' }).error).toBeDefined();
    // Quoted text may hold what would otherwise end the statement.
    expect(new Transaction('inet', 't').add({ type: 'rule', chain: 'c', rule: 'log prefix "a;b" accept' }).error).toBeUndefined();
  });

  it('renders an elements batch in statements of at most 1000 elements', () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`);
    const tx = new Transaction('inet', 'tabby').add({ type: 'elements', set: 's', keys });
    const lines = tx.toString().trimEnd().split('\n');
    expect(lines.map((l) => l.split(', ').length)).toEqual([1000, 1000, 500]);
    expect(lines[0]).toMatch(/^add element inet tabby s \{ 10\.0\.0\.0, 10\.0\.0\.1,/);
    const bad = new Transaction('inet', 'tabby').add({ type: 'elements', set: 's', keys: ['1.2.3.4', '5.6.7.8 }, { 9.9.9.9'] });
    expect(bad.error).toMatch(/element key/);
  });

  it('requires base-chain fields together', () => {
    const tx = new Transaction('inet', 't').add({ type: 'chain', name: 'c', hook: 'input' });
    expect(tx.error).toMatch(/together/);
  });
});

describe('FakeNft', () => {
  it('applies a transaction and dumps a script that recreates it', async () => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    const dump = fake.dump();
    expect(dump).toBe(dedent(`
      add table inet tabby { comment "owned by tabby" ; }
      add set inet tabby s4-a { type ipv4_addr ; flags interval ; }
      add map inet tabby wl-from { type ifname : verdict ; }
      add chain inet tabby fwd-egress { type filter hook forward priority filter - 10 ; policy accept ; }
      add chain inet tabby we-cali1
      add rule inet tabby fwd-egress iifname "cali*" iifname vmap @wl-from
      add rule inet tabby fwd-egress iifname "cali*" counter drop comment "unknown interface"
      add rule inet tabby we-cali1 ip saddr @s4-a counter accept comment "r1"
      add element inet tabby s4-a { 10.0.0.1, 10.1.0.0/16 }
      add element inet tabby wl-from { "cali1" : goto we-cali1 }
    `));
    const copy = new FakeNft();
    copy.parseDump(dump);
    expect(copy.dump()).toBe(dump);
  });

  it('is transactional: a failing operation leaves the state as it was', async () => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    const before = fake.dump();
    const tx = fake.newTransaction()
      .add({ type: 'element', set: 's4-a', key: '10.0.0.2' })
      .delete({ type: 'element', set: 's4-a', key: '10.9.9.9' });
    await expect(fake.run(tx)).rejects.toMatchObject({ code: 'notFound' });
    expect(fake.dump()).toBe(before);
  });

  it.each([
    ['jump to a missing chain', (t: Transaction) => t.add({ type: 'rule', chain: 'we-cali1', rule: 'jump nope' }), 'notFound'],
    ['rule in a missing chain', (t: Transaction) => t.add({ type: 'rule', chain: 'nope', rule: 'accept' }), 'notFound'],
    ['reference to a missing set', (t: Transaction) => t.add({ type: 'rule', chain: 'we-cali1', rule: 'ip saddr @nope accept' }), 'notFound'],
    ['delete a chain with rules', (t: Transaction) => t.delete({ type: 'chain', name: 'we-cali1' }), 'busy'],
    ['delete a set in use', (t: Transaction) => t.delete({ type: 'set', name: 's4-a', keyType: '' }), 'busy'],
    ['create an existing set', (t: Transaction) => t.create({ type: 'set', name: 's4-a', keyType: 'ipv4_addr', flags: ['interval'] }), 'exists'],
    ['add a set again with another type', (t: Transaction) => t.add({ type: 'set', name: 's4-a', keyType: 'ipv6_addr' }), 'exists'],
    ['overlapping interval', (t: Transaction) => t.add({ type: 'element', set: 's4-a', key: '10.1.2.0/24' }), 'exists'],
    ['map element to a missing chain', (t: Transaction) => t.add({ type: 'element', set: 'wl-from', key: '"cali2"', value: 'goto nope' }), 'notFound'],
    ['move a base chain to another hook', (t: Transaction) => t.add({ ...fwd, hook: 'input' }), 'unsupported'],
  ] as const)('fails like the kernel: %s', async (_name, build, code) => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    const err = await fake.run(build(fake.newTransaction())).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect((err as NftError).code).toBe(code);
    expect((err as NftError).message).toMatch(/script line 1:/);
  });

  it('is idempotent where nft is: add of existing objects and elements', async () => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    const before = fake.dump();
    await fake.run(fake.newTransaction()
      .add({ type: 'table' })
      .add({ type: 'chain', name: 'we-cali1' })
      .add({ type: 'set', name: 's4-a', keyType: 'ipv4_addr', flags: ['interval'] })
      .add({ type: 'element', set: 's4-a', key: '10.0.0.1/32' }));
    expect(fake.dump()).toBe(before);
  });

  it('replaces the whole table atomically with add; delete; add', async () => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    const tx = fake.newTransaction().add({ type: 'table' }).delete({ type: 'table' }).add({ type: 'table' })
      .add({ type: 'chain', name: 'only' });
    await fake.run(tx);
    expect(fake.dump()).toBe('add table inet tabby\nadd chain inet tabby only\n');
  });

  it('flushes and deletes a chain and its now unused set in one transaction', async () => {
    const fake = new FakeNft();
    await fake.run(skeleton(fake.newTransaction()));
    await fake.run(fake.newTransaction()
      .flush({ type: 'chain', name: 'we-cali1' })
      .delete({ type: 'element', set: 'wl-from', key: '"cali1"', value: 'goto we-cali1' })
      .delete({ type: 'chain', name: 'we-cali1' })
      .delete({ type: 'set', name: 's4-a', keyType: '' }));
    expect(fake.state!.chains.has('we-cali1')).toBe(false);
    expect(fake.state!.sets.has('s4-a')).toBe(false);
  });
});

describe('parsing', () => {
  it('parses a listing as nft prints it, lifting counters out of rule text', () => {
    const listing = dedent(`
      table inet tabby {
      	comment "tabby owned"
      	set s4-abc {
      		type ipv4_addr
      		flags interval
      		elements = { 10.0.0.1, 10.1.0.0/16,
      			     10.2.0.0/25 }
      	}

      	map wl-from {
      		type ifname : verdict
      		elements = { "cali1" : goto we-cali1 }
      	}

      	chain fwd-egress {
      		type filter hook forward priority filter - 10; policy accept;
      		iifname "cali*" counter packets 3 bytes 180 drop comment "unknown"
      	}

      	chain we-cali1 {
      		tcp dport { 80, 8000-8100 } ip saddr @s4-abc accept
      	}
      }
    `);
    const res = parseListing(listing);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const t = res.value[0]!;
    expect(t.table.comment).toBe('tabby owned');
    expect([...t.sets.get('s4-abc')!.elements.keys()]).toEqual(['10.0.0.1', '10.1.0.0/16', '10.2.0.0/25']);
    expect(t.maps.get('wl-from')!.elements.get('"cali1"')!.value).toBe('goto we-cali1');
    expect(t.chains.get('fwd-egress')!.chain).toMatchObject({ hook: 'forward', priority: 'filter - 10', policy: 'accept' });
    expect(t.chains.get('fwd-egress')!.rules[0]).toMatchObject({
      rule: 'iifname "cali*" counter drop', comment: 'unknown', packets: 3, bytes: 180,
    });
    expect(t.chains.get('we-cali1')!.rules[0]!.rule).toBe('tcp dport { 80, 8000-8100 } ip saddr @s4-abc accept');
  });

  it('parses a flowtable block and renders flowtable operations as nft 1.0.6 takes them', () => {
    const res = parseListing(dedent(`
      table inet tabby {
      	flowtable fastpath {
      		hook ingress priority filter
      		devices = { cali0123456789a,
      			    calib }
      	}
      }
    `));
    expect(res.ok).toBe(true);
    if (res.ok) expect([...res.value[0]!.flowtables.get('fastpath')!]).toEqual(['cali0123456789a', 'calib']);
    const tx = new Transaction('inet', 'tabby')
      .add({ type: 'flowtable', name: 'fastpath', priority: 0, devices: ['calia', 'calib'] })
      .delete({ type: 'flowtable', name: 'fastpath', devices: ['calia'] })
      .delete({ type: 'flowtable', name: 'fastpath' });
    expect(tx.toString()).toBe([
      'add flowtable inet tabby fastpath { hook ingress priority 0 ; devices = { calia, calib } ; }',
      'delete flowtable inet tabby fastpath { devices = { calia } ; }',
      'delete flowtable inet tabby fastpath',
      '',
    ].join('\n'));
    expect(new Transaction('inet', 'tabby').add({ type: 'flowtable', name: 'f', devices: ['bad name'] }).error).toMatch(/not an interface name/);
  });

  it('reports lines it does not know', () => {
    const res = parseScript('add table inet t\nfrobnicate everything\n');
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.issues[0]!.line).toBe(2);
  });

  it('canonicalises element keys as nft prints them', () => {
    expect(canonicalElementKey('10.0.0.1/32')).toBe('10.0.0.1');
    expect(canonicalElementKey('FD00:0:0::1/128')).toBe('fd00::1');
    expect(canonicalElementKey('fd00:1:0:0:0:0:0:0/64')).toBe('fd00:1::/64');
    expect(canonicalElementKey('10.0.0.1 . TCP . 80')).toBe('10.0.0.1 . tcp . 80');
    expect(canonicalElementKey('10.0.0.1 . tcp . 6')).toBe('10.0.0.1 . tcp . 6');
    expect(intervalOf('10.1.0.0/16')).toEqual({ lo: 0x0a010000n, hi: 0x0a01ffffn, v6: false });
  });

  it('classifies nft errors by their first Error line', () => {
    expect(classifyNftStderr('/dev/stdin:3:1-4: Error: Could not process rule: Device or resource busy\n'))
      .toEqual({ code: 'busy', message: 'Could not process rule: Device or resource busy', lineNumber: 3 });
    expect(classifyNftStderr('/dev/stdin:1:36-43: Error: element does not exist\n').code).toBe('notFound');
    expect(classifyNftStderr('/dev/stdin:1:5-6: Error: syntax error, unexpected foo\n').code).toBe('syntax');
  });
});
