// The reader's failures are errors that say what happened, not hangs: a node namespace that does not exist makes
// started() reject with the tool's last words (nsenter's), and stop() still returns.

import { describe, expect, it } from 'vitest';

import { NflogReader } from '../../../src/dataplane/flowlog/index.js';

describe('NflogReader failures', () => {
  it('rejects started() when tcpdump cannot run in the namespace', async () => {
    const reader = new NflogReader({ netns: 'tabby-no-such-netns-h37', groups: [1, 2], onRecord: () => undefined });
    await expect(reader.started()).rejects.toThrow(/exited .*before listening|cannot start/);
    await reader.stop();
    expect(reader.records).toBe(0);
  });
});
