// `tabby node create|delete|list|adopt`: nodes are network namespaces acting as hosts (src/dataplane/netns). `adopt`
// marks a node namespace made by a release before ownership marks, after proving it a Tabby node.

import { adoptNode, createNode, listNodes, Workloads } from '../../dataplane/index.js';
import { CliError, EXIT, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, withStore } from '../datastore-access.js';
import { naming, NETNS_PREFIX_OPTION, nodeName, requireDataplane } from '../dataplane-access.js';
import { issueLines } from '../output/issues.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';

const LIST_PRINTERS = printerSet<string[], 'text' | 'json'>('text', {
  text: linesPrinter((nodes) => (nodes.length === 0 ? 'No nodes (create one with: tabby node create NAME)' : nodes)),
  json: jsonPrinter(),
});

export const command: CommandSpec = {
  name: 'node',
  summary: 'Create, delete, list or adopt nodes (network namespaces acting as hosts)',
  usage: 'tabby node create|delete|adopt NAME | tabby node list [-o text|json] [--netns-prefix PREFIX] [--datastore LOCATION]',
  examples: [
    'tabby node create node1',
    'tabby node list',
    'tabby node delete node1        # also deletes the workloads on it',
    'tabby node adopt node1         # mark a node made by a release before marks (then: tabby workload adopt)',
  ],
  options: {
    output: outputOption(LIST_PRINTERS, 'Output format of list'),
    'netns-prefix': NETNS_PREFIX_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [verb, name, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (see 'tabby node --help')`);
    const n = await naming(args, io);
    switch (verb) {
      case 'list': {
        const format = chooseFormat(args, LIST_PRINTERS);
        print(LIST_PRINTERS, format, listNodes(n), io);
        return EXIT.ok;
      }
      case 'create': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node create node1')");
        nodeName(name);
        await requireDataplane();
        const res = await createNode(n, name);
        if (!res.ok) throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.exists' ? EXIT.alreadyExists : EXIT.failure);
        write(io.stdout, `Created node ${name} (network namespace ${res.value.netns}); start its agent with: tabby agent --node ${name}`);
        return EXIT.ok;
      }
      case 'delete': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node delete node1')");
        nodeName(name);
        await requireDataplane();
        return withStore(args, io, async ({ store }) => {
          const res = await new Workloads({ store, prefix: n.prefix }).deleteNode(name);
          if (!res.ok) {
            throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
          }
          const { workloads: wl, refused } = res.value;
          write(io.stdout, `Deleted node ${name}${wl.length > 0 ? ` and its workloads ${wl.join(', ')}` : ''}`);
          if (refused.length > 0) throw new CliError(refused.map((i) => i.message).join('; '));
          return EXIT.ok;
        });
      }
      case 'adopt': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node adopt node1')");
        nodeName(name);
        await requireDataplane();
        const res = await adoptNode(n, name);
        if (!res.ok) {
          throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
        }
        const { netns, already } = res.value;
        write(io.stdout, already
          ? `Node ${name} already carries the tabby mark (network namespace ${netns})`
          : `Adopted node ${name}: marked network namespace ${netns} as tabby's; ` +
            'adopt its workloads with: tabby workload adopt NS/NAME');
        return EXIT.ok;
      }
      default:
        throw new UsageError(verb === undefined
          ? "missing subcommand: create, delete, list or adopt (see 'tabby node --help')"
          : `unknown subcommand '${verb}': create, delete, list or adopt`);
    }
  },
};
