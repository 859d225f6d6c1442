// Datastore failures as the Status objects kubectl prints: one code and reason per kind of failure, messages in
// the API server's words, validation issues as causes with their field paths.
import { describe, expect, it } from 'vitest';

import { kindInfo } from '../../src/api/index.js';
import {
  AlreadyExistsError, CompactedError, ConflictError, InvalidError, MissingTierError, NotFoundError, NotSupportedError,
  UnavailableError,
} from '../../src/datastore/index.js';
import { StatusError, toStatusError } from '../../src/server/status.js';

const gnp = { info: kindInfo('GlobalNetworkPolicy'), name: 'allow-dns' };
const key = { kind: 'GlobalNetworkPolicy' as const, name: 'allow-dns' };

describe('toStatusError', () => {
  it('maps each datastore failure to its code and reason', () => {
    const cases: Array<[Error, number, string]> = [
      [new NotFoundError(key), 404, 'NotFound'],
      [new AlreadyExistsError(key), 409, 'AlreadyExists'],
      [new ConflictError(key, { resourceVersion: '3' }, { resourceVersion: '4' }), 409, 'Conflict'],
      [new InvalidError([{ code: 'selector.invalid', path: ['spec', 'selector'], message: 'bad' }], key), 422, 'Invalid'],
      [new MissingTierError('security', key), 422, 'Invalid'],
      [new NotSupportedError({ kind: 'Tier', name: 'default' }, 'delete', 'built-in'), 400, 'BadRequest'],
      [new CompactedError(1, 5), 410, 'Expired'],
      [new UnavailableError('etcd://x:2379', 'refused'), 503, 'ServiceUnavailable'],
      [new Error('boom'), 500, 'InternalError'],
    ];
    for (const [err, code, reason] of cases) {
      const s = toStatusError(err, gnp).toStatus();
      expect([s.code, s.reason, s.kind, s.status], err.name).toEqual([code, reason, 'Status', 'Failure']);
    }
  });

  it('speaks kubectl\'s words and carries the validation issues as causes', () => {
    expect(toStatusError(new NotFoundError(key), gnp).message).toBe('globalnetworkpolicies.projectcalico.org "allow-dns" not found');
    expect(toStatusError(new ConflictError(key, { resourceVersion: '3' }, { resourceVersion: '4' }), gnp).message)
      .toMatch(/^Operation cannot be fulfilled on globalnetworkpolicies.projectcalico.org "allow-dns": the object has been modified/);
    const invalid = toStatusError(new InvalidError([
      { code: 'selector.invalid', path: ['spec', 'selector'], message: 'invalid selector' },
      { code: 'port.range', path: ['spec', 'ingress', 0, 'destination', 'ports', 1], message: 'bad port' },
    ], key), gnp).toStatus();
    expect(invalid.message).toBe('GlobalNetworkPolicy.projectcalico.org "allow-dns" is invalid: spec.selector: invalid selector; spec.ingress[0].destination.ports[1]: bad port');
    expect(invalid.details).toEqual({
      name: 'allow-dns', group: 'projectcalico.org', kind: 'GlobalNetworkPolicy',
      causes: [
        { reason: 'FieldValueInvalid', message: 'invalid selector', field: 'spec.selector' },
        { reason: 'FieldValueInvalid', message: 'bad port', field: 'spec.ingress[0].destination.ports[1]' },
      ],
    });
    const ns = toStatusError(new NotFoundError({ kind: 'Namespace', name: 'shop' }), { info: kindInfo('Namespace'), name: 'shop' }).toStatus();
    expect(ns).toMatchObject({ message: 'namespaces "shop" not found', details: { group: '', kind: 'namespaces' } });
  });

  it('keeps a StatusError as it is', () => {
    const e = new StatusError(413, 'RequestEntityTooLarge', 'too big');
    expect(toStatusError(e)).toBe(e);
  });
});
