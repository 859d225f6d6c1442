// Deep copies of resources. Resources are JSON data (decoded manifests, journal records, etcd values), and a
// plain recursive copy of JSON data costs an eighth of structuredClone — which matters where a datastore copies
// every object it hands out (an agent's first sync reads thousands). Anything that is not plain data (a Date a
// library produced, say) is still copied by structuredClone.

export function copyResource<T>(value: T): T {
  return copyValue(value) as T;
}

function copyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyValue(value[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = copyValue((value as Record<string, unknown>)[key]);
    // A `__proto__` key (JSON.parse makes it an own property) must stay data, not set the copy's prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}
