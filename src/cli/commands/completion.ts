import type { CommandSpec } from '../command.js';
export const command: CommandSpec = { name: 'completion', summary: 'x', usage: 'x', examples: [], options: {}, async run() { return 0; } };
