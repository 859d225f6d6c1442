// `tabby external exec|delete`: the shared "outside" network the nodes' uplinks join (src/dataplane/netns/uplink.ts),
// a LAN in front of the nodes — `exec` runs a command there (reach a node's eth0, its host ports, its workloads),
// `delete` removes it (it also goes with the last `tabby node delete`). Only a namespace carrying Tabby's mark.

import { deleteOutside, NetnsError, outsideExecArgv, outsideNetns, unmarkedMessage } from '../../dataplane/index.js';
import { CliError, EXIT, UsageError, write, type CommandSpec } from '../command.js';
import { unknownSubcommand } from '../suggest.js';
import { naming, NETNS_PREFIX_OPTION, requireDataplane } from '../dataplane-access.js';
import { runArgv } from '../spawn-argv.js';

export const command: CommandSpec = {
  name: 'external',
  summary: 'Run a command in, or delete, the outside network in front of the nodes (their eth0 uplinks)',
  usage: 'tabby external exec -- CMD... | tabby external delete [--netns-prefix PREFIX]',
  examples: [
    'tabby external exec -- ping -c1 172.31.0.2      # a node\'s uplink address (tabby node get NODE)',
    'tabby external delete',
  ],
  options: { 'netns-prefix': NETNS_PREFIX_OPTION },
  positionals: true,
  async run(args, io) {
    const [verb, ...rest] = args.positionals;
    const n = await naming(args, io);
    switch (verb) {
      case 'exec': {
        if (rest.length === 0) throw new UsageError("missing command (e.g. 'tabby external exec -- ip addr')");
        await requireDataplane();
        let full: string[];
        try {
          full = await outsideExecArgv(n, rest);
        } catch (e) {
          if (e instanceof NetnsError) throw new CliError(e.message, /does not exist/.test(e.message) ? EXIT.notFound : EXIT.failure);
          throw e;
        }
        return runArgv(full, io, 'tabby external exec');
      }
      case 'delete': {
        if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (see 'tabby external --help')`);
        await requireDataplane();
        const res = await deleteOutside(n);
        const ns = outsideNetns(n);
        if (res === 'absent') throw new CliError(`the outside network ${ns} does not exist`, EXIT.notFound);
        if (res === 'not-owned') throw new CliError(unmarkedMessage(ns, 'not deleting it'));
        write(io.stdout, `Deleted the outside network ${ns} (nodes keep running without a way in)`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(verb === undefined
          ? "missing subcommand: exec or delete (see 'tabby external --help')"
          : unknownSubcommand(verb, ['exec', 'delete'], 'exec or delete'));
    }
  },
};
