// `tabby get KIND[,KIND...] [NAME...]`: read resources from the datastore (calicoctl get, with kubectl's -l and
// -A). Namespaced kinds are read from -n NS (default: default) or every namespace with -A.

import { displayText, escapeControls, type KindInfo, type Resource } from '../../api/index.js';
import { booleanOption, EXIT, stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { isDatastoreError } from '../../datastore/index.js';
import { DATASTORE_OPTION, describeDatastoreError, kindArgument, NAMESPACE_OPTION, warnSkipped, withStore } from '../datastore-access.js';
import { chooseFormat, outputOption, print } from '../output/printers.js';
import { RESOURCE_PRINTERS } from '../output/resources.js';
import { getWithDerived, listWithDerived } from '../derived-resources.js';

export const command: CommandSpec = {
  name: 'get',
  summary: 'List or show resources in the datastore',
  usage: 'tabby get KIND[,KIND...] [NAME...] [-n NS | -A] [-l SELECTOR] [-o table|wide|yaml|json|name] [--datastore LOCATION]',
  examples: [
    'tabby get globalnetworkpolicies',
    'tabby get np -A -o wide            # NAMESPACE NAME TIER ORDER SELECTOR (Kubernetes policies: order 1000)',
    'tabby get wep -n prod -o wide      # stored endpoints and those Calico derives from pods',
    'tabby get gnp allow-dns -o yaml',
    'tabby get networkpolicy,networkset -n prod -l app=web',
  ],
  options: {
    namespace: NAMESPACE_OPTION,
    'all-namespaces': { type: 'boolean', short: 'A', description: 'Namespaced kinds from every namespace, with a NAMESPACE column' },
    selector: {
      type: 'string', short: 'l', valueName: 'SELECTOR',
      description: "Only objects whose labels match (kubectl syntax: 'app=web,env!=prod,tier in (a,b),!legacy')",
    },
    output: outputOption(RESOURCE_PRINTERS),
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [kindText, ...names] = args.positionals;
    if (kindText === undefined) {
      throw new UsageError('which resources? e.g. tabby get globalnetworkpolicies (see tabby get --help)');
    }
    const kinds: KindInfo[] = kindText.split(',').filter((k) => k !== '').map((k) => kindArgument(k, 'get'));
    const format = chooseFormat(args, RESOURCE_PRINTERS);
    const all = booleanOption(args, 'all-namespaces');
    const ns = stringOption(args, 'namespace');
    const selector = stringOption(args, 'selector');
    if (all && ns !== undefined) throw new UsageError('give -n NS or -A, not both');
    if (names.length > 0 && (all || selector !== undefined || kinds.length > 1)) {
      throw new UsageError('names select objects of one kind in one namespace; drop -A/-l or the names');
    }
    const namespace = all ? undefined : ns ?? 'default';
    return withStore(args, io, async ({ store }) => {
      const found: Resource[] = [];
      const missing: string[] = [];
      if (names.length > 0) {
        const info = kinds[0]!;
        // As kubectl: the names that exist are printed, each missing one is an error on stderr, and the exit is 1.
        // A single missing name keeps its own exit code (3, not found) as before.
        for (const name of names) {
          try {
            found.push(await getWithDerived(store, { kind: info.key, name, ...(info.namespaced && { namespace }) }));
          } catch (err) {
            if (names.length === 1 || !isDatastoreError(err) || err.code !== 'not-found') throw err;
            missing.push(describeDatastoreError(err));
          }
        }
      } else {
        for (const info of kinds) {
          const { items, skipped } = await listWithDerived(store, {
            kind: info.key,
            ...(info.namespaced && namespace !== undefined && { namespace }),
            ...(selector !== undefined && { labelSelector: selector }),
          });
          found.push(...items);
          warnSkipped(io, skipped);
        }
      }
      if (found.length === 0 && missing.length === 0 && format !== 'json') {
        const where = kinds.some((k) => k.namespaced) && namespace !== undefined ? ` in namespace ${displayText(namespace)}` : '';
        write(io.stderr, `No resources found${where}.`);
        return 0;
      }
      if (found.length > 0 || format === 'json') print(RESOURCE_PRINTERS, format, { resources: found, single: names.length === 1, allNamespaces: all }, io);
      for (const message of missing) write(io.stderr, `tabby get: ${escapeControls(message)}`);
      return missing.length > 0 ? EXIT.failure : 0;
    });
  },
};
