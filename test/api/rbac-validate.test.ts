// The rbac.authorization.k8s.io/v1 kinds validated as the Kubernetes API server validates them
// (pkg/apis/rbac/validation, after v1 defaulting), with its wording, and the roleRef that cannot change.
import { describe, expect, it } from 'vitest';

import { formatIssue } from '../../src/api/issues.js';
import { rbacNameProblems, rbacUpdateIssues, validateKubernetesResource } from '../../src/api/kubernetes/index.js';
import { validateResource, type Resource } from '../../src/api/index.js';

const V = 'rbac.authorization.k8s.io/v1';

function lines(value: unknown): string[] {
  const r = validateKubernetesResource(value);
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe('RBAC kinds: accepted and defaulted', () => {
  it('accepts a Role, ClusterRole (with nonResourceURLs and an aggregation rule), RoleBinding and ClusterRoleBinding', () => {
    const objects = [
      { apiVersion: V, kind: 'Role', metadata: { name: 'system:netpol-editor', namespace: 'shop' },
        rules: [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'pods/log', '*/status'], verbs: ['*'], resourceNames: ['a'] }] },
      { apiVersion: V, kind: 'Role', metadata: { name: 'empty', namespace: 'shop' } },
      { apiVersion: V, kind: 'ClusterRole', metadata: { name: 'health' },
        rules: [{ nonResourceURLs: ['/healthz', '/api/*'], verbs: ['get'] }],
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] } },
      { apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'shop' },
        subjects: [{ kind: 'ServiceAccount', name: 'ci' }, { kind: 'User', name: 'Jane Doe' }], roleRef: { kind: 'ClusterRole', name: 'edit' } },
      { apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name: 'c' },
        subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'tools' }, { kind: 'Group', name: 'system:masters' }],
        roleRef: { kind: 'ClusterRole', name: 'cluster-admin', apiGroup: 'rbac.authorization.k8s.io' } },
    ];
    for (const o of objects) expect(lines(o), JSON.stringify(o)).toEqual([]);
  });

  it('defaults roleRef.apiGroup and a User or Group subject apiGroup, never a ServiceAccount one (SetDefaults_Subject)', () => {
    const r = validateResource({ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'shop' },
      subjects: [{ kind: 'User', name: 'u' }, { kind: 'Group', name: 'g', apiGroup: '' }, { kind: 'ServiceAccount', name: 'sa' }],
      roleRef: { kind: 'Role', name: 'r' } });
    expect(r.ok).toBe(true);
    const b = (r as { value: Extract<Resource, { kind: 'RoleBinding' }> }).value;
    expect(b.roleRef.apiGroup).toBe('rbac.authorization.k8s.io');
    expect(b.subjects!.map((s) => s.apiGroup)).toEqual(['rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', undefined]);
  });

  it('names are path segments (IsValidPathSegmentName), not DNS names', () => {
    expect(rbacNameProblems('system:controller:x')).toEqual([]);
    expect(rbacNameProblems('Upper Case')).toEqual([]);
    expect(rbacNameProblems('..')).toEqual(["may not be '..'"]);
    expect(rbacNameProblems('a/b%c')).toEqual(["may not contain '/'", "may not contain '%'"]);
  });
});

describe('RBAC kinds: refused, with the API server\'s messages', () => {
  it('rules: verbs required, resource rules need groups and resources, URLs only alone and only in a ClusterRole', () => {
    expect(lines({ apiVersion: V, kind: 'Role', metadata: { name: 'r', namespace: 'n' }, rules: [
      { verbs: [] , apiGroups: [''], resources: ['pods'] },
      { verbs: ['get'] },
      { verbs: ['get'], nonResourceURLs: ['/metrics'] },
      { verbs: ['get'], verb: ['x'], apiGroups: [''], resources: ['pods'] },
    ] })).toEqual([
      'rules[0].verbs: Required value: verbs must contain at least one value',
      'rules[1].apiGroups: Required value: resource rules must supply at least one api group',
      'rules[1].resources: Required value: resource rules must supply at least one resource',
      'rules[2].nonResourceURLs: Invalid value: []string{"/metrics"}: namespaced rules cannot apply to non-resource URLs',
      'rules[3].verb: unknown field "verb"',
    ]);
    expect(lines({ apiVersion: V, kind: 'ClusterRole', metadata: { name: 'r' }, rules: [
      { verbs: ['get'], nonResourceURLs: ['/a', '/b'], resources: ['pods'] },
    ], aggregationRule: {} })).toEqual([
      'rules[0].nonResourceURLs: Invalid value: []string{"/a", "/b"}: rules cannot apply to both regular resources and non-resource URLs',
      'aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
    ]);
  });

  it('wrong JSON types are reported, not thrown', () => {
    expect(lines({ apiVersion: V, kind: 'Role', metadata: { name: 'r', namespace: 'n' }, rules: [{ verbs: 'get', apiGroups: [1], resources: ['pods'] }] }))
      .toEqual([
        'rules[0].verbs: Invalid type: expected array, got string',
        'rules[0].apiGroups[0]: Invalid type: expected string, got integer',
        'rules[0].verbs: Required value: verbs must contain at least one value',
        'rules[0].apiGroups: Required value: resource rules must supply at least one api group',
      ]);
  });

  it('bindings: roleRef kind, group and name; subjects by kind; a ClusterRoleBinding binds only ClusterRoles', () => {
    expect(lines({ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'n' },
      subjects: [{ kind: 'Robot', name: 'r' }, { kind: 'ServiceAccount', name: 'Bad', apiGroup: 'x' }, { kind: 'User' }, { kind: 'ServiceAccount', name: 'ok' }],
      roleRef: { kind: 'Roles', name: 'a/b', apiGroup: 'rbac' } })).toEqual([
      'roleRef.apiGroup: Unsupported value: "rbac": supported values: "rbac.authorization.k8s.io"',
      'roleRef.kind: Unsupported value: "Roles": supported values: "Role", "ClusterRole"',
      'roleRef.name: Invalid value: "a/b": may not contain \'/\'',
      'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      expect.stringMatching(/^subjects\[1\]\.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain/),
      'subjects[1].apiGroup: Unsupported value: "x": supported values: ""',
      'subjects[2].name: Required value',
    ]);
    expect(lines({ apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name: 'b', namespace: 'n' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa' }, { kind: 'Group', name: 'g', apiGroup: 'other' }],
      roleRef: { kind: 'Role', name: 'r' } })).toEqual([
      'metadata.namespace: Forbidden: not allowed on this type',
      'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
      'subjects[0].namespace: Required value',
      'subjects[1].apiGroup: Unsupported value: "other": supported values: "rbac.authorization.k8s.io"',
    ]);
    expect(lines({ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'n' } })).toEqual([
      'roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"',
      'roleRef.name: Required value',
    ]);
  });

  it('a binding\'s roleRef cannot change (ValidateRoleBindingUpdate); its subjects can', () => {
    const b = (roleRef: object, subjects: object[] = []): Resource =>
      ({ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'n' }, subjects, roleRef }) as unknown as Resource;
    const ref = { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' };
    expect(rbacUpdateIssues(b(ref), b(ref, [{ kind: 'User', name: 'u' }]))).toEqual([]);
    expect(rbacUpdateIssues(b(ref), b({ ...ref, kind: 'ClusterRole' })).map(formatIssue)).toEqual([
      'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"r"}: cannot change roleRef',
    ]);
  });
});
