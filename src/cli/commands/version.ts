import type { CommandSpec } from '../command.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { CALICO_COMPAT_VERSION, TABBY_VERSION } from '../version.js';

interface VersionInfo {
  version: string;
  calicoCompat: string;
  node: string;
}

const PRINTERS = printerSet<VersionInfo, 'text' | 'json'>('text', {
  text: linesPrinter((info) => `Tabby ${info.version} (Calico ${info.calicoCompat} semantics, Node ${info.node})`),
  json: jsonPrinter(),
});

export const command: CommandSpec = {
  name: 'version',
  summary: 'Print the Tabby version and the Calico API version it follows',
  usage: 'tabby version [-o text|json]',
  examples: ['tabby version', 'tabby version -o json'],
  options: { output: outputOption(PRINTERS) },
  async run(args, io) {
    const format = chooseFormat(args, PRINTERS);
    print(PRINTERS, format, { version: TABBY_VERSION, calicoCompat: CALICO_COMPAT_VERSION, node: process.version }, io);
    return 0;
  },
};
