// A transaction: nft operations collected in order and rendered as one `nft -f -` script, which the kernel
// applies as one netlink batch — all of it or none of it (dataplane.md §5.8; knftables `transaction.go`).
// Adding an operation never fails: the first validation problem is kept, shown by toString() as an
// `# ERROR:` line, and reported by run()/check() without touching the kernel.

import {
  validateObject,
  type Element,
  type Family,
  type NftObject,
  type Rule,
  type Verb,
} from './objects.js';

export interface Operation {
  verb: Verb;
  object: NftObject;
}

/** Consecutive element operations on one set are written as one statement; this many elements at most. */
const ELEMENTS_PER_STATEMENT = 1000;

export class Transaction {
  private readonly ops: Operation[] = [];
  private firstError: string | undefined;

  constructor(readonly family: Family, readonly table: string) {}

  /** Creates the object, or does nothing if it exists (`add`). A rule is appended to its chain. */
  add(object: NftObject): this {
    return this.push('add', object);
  }

  /** Creates the object; the transaction fails if it exists (`create`). Not valid for rules. */
  create(object: NftObject): this {
    if (object.type === 'rule') return this.fail('create is not valid for rules; use add or insert');
    return this.push('create', object);
  }

  /** Inserts a rule at the head of its chain (`insert`). */
  insert(rule: Rule): this {
    return this.push('insert', rule);
  }

  /** Deletes a table, chain, set, map or element; the transaction fails if it does not exist. */
  delete(object: NftObject): this {
    return this.push('delete', object);
  }

  /** Removes a chain's rules, a set's or map's elements, or everything in the table. */
  flush(object: NftObject): this {
    if (object.type === 'rule' || object.type === 'element' || object.type === 'elements') {
      return this.fail(`flush is not valid for ${object.type === 'elements' ? 'element' : object.type}s`);
    }
    return this.push('flush', object);
  }

  get operations(): readonly Operation[] {
    return this.ops;
  }

  /** The first validation problem, if any; run() reports it instead of running. */
  get error(): string | undefined {
    return this.firstError;
  }

  get size(): number {
    return this.ops.length;
  }

  /** The exact script `run()` feeds to `nft -f -`. */
  toString(): string {
    return this.render().lines.join('\n') + '\n';
  }

  /** The script, and for every line the index of the operation it renders (for error reports). */
  render(): { lines: string[]; opIndex: number[] } {
    const lines: string[] = [];
    const opIndex: number[] = [];
    for (const [line, op] of this.lines()) {
      lines.push(line);
      opIndex.push(op);
    }
    return { lines, opIndex };
  }

  /** Each script line with the index of the (first) operation it renders. */
  private *lines(): Generator<[string, number]> {
    const t = `${this.family} ${this.table}`;
    for (let i = 0; i < this.ops.length; ) {
      const op = this.ops[i]!;
      const obj = op.object;
      if (obj.type === 'elements') {
        for (let k = 0; k < obj.keys.length; k += ELEMENTS_PER_STATEMENT) {
          const items: string[] = [];
          for (let j = k; j < Math.min(obj.keys.length, k + ELEMENTS_PER_STATEMENT); j++) {
            items.push(obj.values ? `${obj.keys[j]} : ${obj.values[j]}` : obj.keys[j]!);
          }
          yield [`${op.verb} element ${t} ${obj.set} { ${items.join(', ')} }`, i];
        }
        i++;
        continue;
      }
      if (obj.type === 'element') {
        // Batch a run of element operations on the same set and verb (one nft statement per set: §4 row 9).
        const run: Element[] = [obj];
        let j = i + 1;
        while (j < this.ops.length && run.length < ELEMENTS_PER_STATEMENT) {
          const next = this.ops[j]!;
          if (next.verb !== op.verb || next.object.type !== 'element' || next.object.set !== obj.set) break;
          run.push(next.object);
          j++;
        }
        const items = run.map((e) => (e.value === undefined ? e.key : `${e.key} : ${e.value}`));
        yield [`${op.verb} element ${t} ${obj.set} { ${items.join(', ')} }`, i];
        i = j;
        continue;
      }
      yield [renderOperation(t, op), i];
      i++;
    }
    if (this.firstError !== undefined) yield [`# ERROR: ${this.firstError}`, this.ops.length];
  }

  private push(verb: Verb, object: NftObject): this {
    const problem = validateObject(verb, object);
    if (problem !== undefined) return this.fail(problem);
    this.ops.push({ verb, object });
    return this;
  }

  private fail(message: string): this {
    this.firstError ??= message;
    return this;
  }
}

function comment(text: string | undefined): string {
  return text === undefined ? '' : ` comment "${text}"`;
}

function renderOperation(t: string, { verb, object: o }: Operation): string {
  switch (o.type) {
    case 'table': {
      const body = verb === 'add' || verb === 'create' ? (o.comment ? ` { comment "${o.comment}" ; }` : '') : '';
      return `${verb} table ${t}${body}`;
    }
    case 'chain': {
      if (verb !== 'add' && verb !== 'create') return `${verb} chain ${t} ${o.name}`;
      const parts: string[] = [];
      if (o.hook !== undefined) parts.push(`type ${o.chainType} hook ${o.hook} priority ${o.priority} ;`);
      if (o.policy !== undefined) parts.push(`policy ${o.policy} ;`);
      if (o.comment !== undefined) parts.push(`comment "${o.comment}" ;`);
      return `${verb} chain ${t} ${o.name}` + (parts.length > 0 ? ` { ${parts.join(' ')} }` : '');
    }
    case 'rule':
      return `${verb} rule ${t} ${o.chain} ${o.rule}${comment(o.comment)}`;
    case 'set':
    case 'map': {
      if (verb !== 'add' && verb !== 'create') return `${verb} ${o.type} ${t} ${o.name}`;
      const type = o.type === 'map' ? `${o.keyType} : ${o.valueType}` : o.keyType;
      const parts = [`type ${type} ;`];
      if (o.flags && o.flags.length > 0) parts.push(`flags ${o.flags.join(',')} ;`);
      if (o.comment !== undefined) parts.push(`comment "${o.comment}" ;`);
      return `${verb} ${o.type} ${t} ${o.name} { ${parts.join(' ')} }`;
    }
    case 'flowtable': {
      const devices = o.devices && o.devices.length > 0 ? ` devices = { ${o.devices.join(', ')} } ;` : '';
      if (verb === 'add' || verb === 'create') return `${verb} flowtable ${t} ${o.name} { hook ingress priority ${o.priority ?? 0} ;${devices} }`;
      return `${verb} flowtable ${t} ${o.name}` + (devices ? ` {${devices} }` : '');
    }
    case 'elements':
    case 'element':
      // Elements are batched by render(); this path is not reached.
      return `${verb} element ${t} ${o.set} { … }`;
  }
}
