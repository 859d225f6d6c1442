// `tabby demo` — what `npm start` runs: the seeds' scenario (frontend, backend and DNS workloads; Kubernetes
// policies; the Calico default deny with allow-dns) enforced for real with nftables on this machine, each probe
// printed with the rule that decided it. Without root or nftables it says what is missing and shows the same
// scenario through the engine alone.

import { namespaceSupport } from '../../dataplane/index.js';
import { booleanOption, EXIT, write, type CommandSpec } from '../command.js';
import { runLiveDemo } from '../demo/live.js';
import { runOfflineDemo } from '../demo/offline.js';

export const command: CommandSpec = {
  name: 'demo',
  summary: 'Run the example scenario: real workloads, real nftables enforcement, every probe explained',
  usage: 'tabby demo [--offline]',
  examples: ['tabby demo', 'sudo tabby demo', 'tabby demo --offline'],
  options: {
    offline: { type: 'boolean', description: 'Decide the probes with the engine only; create nothing on this machine' },
  },
  async run(args, io) {
    const out = {
      line: (text: string) => { io.stdout.write(`${text}\n`); },
      progress: (text: string) => write(io.stderr, `  · ${text}`),
    };
    write(io.stdout, 'Tabby demo: the shop scenario from examples/ (kube-system/coredns, shop/frontend, shop/backend)');
    const missing = booleanOption(args, 'offline') ? undefined : await namespaceSupport();
    if (booleanOption(args, 'offline') || missing) {
      if (missing) {
        write(io.stderr, `tabby demo: cannot enforce for real on this machine: ${missing}.\n` +
          '  To see the policies enforced on real connections, install nftables and iproute2 ' +
          '(Debian: sudo apt-get install nftables iproute2) and run as root: sudo npm start\n' +
          '  Showing the scenario through the engine instead (no connections are made).');
      }
      const problems = await runOfflineDemo(out);
      return problems === 0 ? EXIT.ok : EXIT.failure;
    }
    write(io.stdout, 'Enforcing with nftables on a node namespace; each probe is a real connection, decided by the rule shown.');
    const mismatches = await runLiveDemo(out);
    out.line('');
    if (mismatches > 0) {
      write(io.stdout, `${mismatches} probe(s) disagreed with the engine: this is a bug, please report it with the output above.`);
      return EXIT.failure;
    }
    write(io.stdout, 'Every probe behaved as the engine said. Explore further:\n' +
      '  tabby explain -f examples --from shop/frontend --to shop/backend --protocol TCP --port 8080\n' +
      '  tabby matrix -f examples --protocol TCP --port 8080');
    return EXIT.ok;
  },
};
