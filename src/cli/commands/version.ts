import { outputFormat, write, type CommandSpec } from '../command.js';
import { CALICO_COMPAT_VERSION, TABBY_VERSION } from '../version.js';

export const command: CommandSpec = {
  name: 'version',
  summary: 'Print the Tabby version and the Calico API version it follows',
  usage: 'tabby version [-o text|json]',
  examples: ['tabby version', 'tabby version -o json'],
  options: { output: { type: 'string', short: 'o', description: 'Output format: text or json', valueName: 'FORMAT' } },
  async run(args, io) {
    const format = outputFormat(args, ['text', 'json'] as const, 'text');
    const info = { version: TABBY_VERSION, calicoCompat: CALICO_COMPAT_VERSION, node: process.version };
    if (format === 'json') write(io.stdout, JSON.stringify(info, null, 2));
    else write(io.stdout, `Tabby ${info.version} (Calico ${info.calicoCompat} semantics, Node ${info.node})`);
    return 0;
  },
};
