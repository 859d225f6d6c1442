// Flowtable offload's share of a sync (README "Flowtable offload"): which local workload interfaces the flowtable
// hooks. Only interfaces that exist now can be named — nft refuses a transaction naming a missing device — so one
// whose WorkloadEndpoint came before its veth is added by a later sync (a few tries, a second apart, as Felix
// re-asserts its flowtable); a listing that fails leaves the devices as they are: offload never holds up policy.

import type { Renderer } from '../render/renderer.js';

const OFFLOAD_RETRIES = 5;
export const OFFLOAD_RETRY_MS = 1000;

export class FlowtableDevices {
  /** Syncs left to retry for workload interfaces not in the flowtable because they did not exist yet. */
  private retries = OFFLOAD_RETRIES;

  constructor(
    private readonly interfaces: () => Promise<ReadonlySet<string>>,
    private readonly log: (line: string) => void,
  ) {}

  /** Sets the renderer's flowtable devices; true when a later sync should try again for missing interfaces. */
  async update(renderer: Renderer): Promise<boolean> {
    let present: ReadonlySet<string>;
    try {
      present = await this.interfaces();
    } catch (err) {
      this.log(`flowtable devices unchanged: cannot list interfaces: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
    const local = [...renderer.localInterfaces().keys()];
    const devices = new Set(local.filter((d) => present.has(d)));
    renderer.ruleset.setFlowtableDevices(devices, present);
    if (devices.size === local.length) {
      this.retries = OFFLOAD_RETRIES;
      return false;
    }
    if (this.retries <= 0) return false;
    this.retries--;
    return true;
  }
}
