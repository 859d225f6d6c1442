// kube-apiserver's --token-auth-file format, as tabby server reads it.
import { describe, expect, it } from 'vitest';

import { parseTokenFile, TokenTable } from '../../src/server/index.js';

describe('parseTokenFile', () => {
  it('reads token,user,uid and the quoted group list; skips comments and blank lines', () => {
    const r = parseTokenFile('# admin\n\nt1,alice,1,"dev,ops"\nt2,bob,2\nt3,carol,3,solo\n', 'tokens.csv');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.tokens]).toEqual([
      ['t1', { name: 'alice', uid: '1', groups: ['dev', 'ops'] }],
      ['t2', { name: 'bob', uid: '2', groups: [] }],
      ['t3', { name: 'carol', uid: '3', groups: ['solo'] }],
    ]);
  });

  it('refuses what kube-apiserver refuses, naming the line', () => {
    expect(parseTokenFile('t1,alice\n', 'f')).toEqual({ ok: false, error: expect.stringMatching(/^f:1: 2 field\(s\)/) });
    expect(parseTokenFile('ok,a,1\nt1,alice,1,"dev\n', 'f')).toEqual({ ok: false, error: expect.stringMatching(/^f:2: unbalanced quotes/) });
    expect(parseTokenFile(',alice,1\n', 'f')).toEqual({ ok: false, error: 'f:1: the token (first field) is empty' });
    expect(parseTokenFile('t,,1\n', 'f')).toEqual({ ok: false, error: 'f:1: the user name (second field) is empty' });
    // The same token twice would give one user another's groups.
    expect(parseTokenFile('t,a,1\nt,b,2\n', 'f')).toEqual({ ok: false, error: 'f:2: this token is already given to a on an earlier line' });
  });

  it('CSV quoting: "" is a quote, CRLF line ends', () => {
    const r = parseTokenFile('t1,"al""ice",1,"a,b"\r\n', 'f');
    expect(r.ok && r.tokens.get('t1')).toEqual({ name: 'al"ice', uid: '1', groups: ['a', 'b'] });
  });
});

describe('TokenTable', () => {
  it('finds a token and nothing else (not a prefix, not another case)', () => {
    const t = new TokenTable(new Map([['secret-token', { name: 'a', uid: '1', groups: [] }]]));
    expect(t.lookup('secret-token')?.name).toBe('a');
    for (const wrong of ['secret', 'secret-token ', 'SECRET-TOKEN', '']) expect(t.lookup(wrong)).toBeUndefined();
  });
});
