// One sync of the kernel to the engine: engine change feed → renderer → minimal plan → one nft transaction
// (README "Table contract"). A failed transaction changes nothing in the kernel (it applies all of it or none);
// the ruleset then forgets what the kernel holds, so the next attempt replaces the whole table (Felix recreates
// after failures). Plans are made, run and committed here one at a time (render/ruleset.ts relies on it).

import type { EngineOptions, PolicyEngine } from '../../engine/index.js';
import type { Nft } from '../nft/nftables.js';
import { Renderer, type RenderOptions } from '../render/renderer.js';
import type { FlowtableDevices } from './offload.js';

export type SyncResult =
  | { ok: true; full: boolean; phases: { engineMs: number; renderMs: number; nftMs: number }; retryOffload: boolean; settingsChanged: string[] }
  | { ok: false; full: boolean; error: string; retryOffload: boolean; settingsChanged: string[] };

export type PolicyRenderOptions = Omit<RenderOptions,
  'node' | 'defaultEndpointToHostAction' | 'allowVXLANPacketsFromWorkloads' | 'allowIPIPPacketsFromWorkloads' | 'vxlanPort' |
  'failsafeInboundHostPorts' | 'failsafeOutboundHostPorts'>;

export class PolicySync {
  readonly renderer: Renderer;

  constructor(
    private readonly node: string,
    engine: EngineOptions,
    render: PolicyRenderOptions,
    private readonly nft: Nft,
    private readonly offload: FlowtableDevices | undefined,
  ) {
    this.renderer = new Renderer({
      ...render,
      node,
      ...(engine.defaultEndpointToHostAction !== undefined ? { defaultEndpointToHostAction: engine.defaultEndpointToHostAction } : {}),
      ...(engine.allowVXLANPacketsFromWorkloads !== undefined ? { allowVXLANPacketsFromWorkloads: engine.allowVXLANPacketsFromWorkloads } : {}),
      ...(engine.allowIPIPPacketsFromWorkloads !== undefined ? { allowIPIPPacketsFromWorkloads: engine.allowIPIPPacketsFromWorkloads } : {}),
      ...(engine.vxlanPort !== undefined ? { vxlanPort: engine.vxlanPort } : {}),
      ...(engine.failsafeInboundHostPorts !== undefined ? { failsafeInboundHostPorts: engine.failsafeInboundHostPorts } : {}),
      ...(engine.failsafeOutboundHostPorts !== undefined ? { failsafeOutboundHostPorts: engine.failsafeOutboundHostPorts } : {}),
      ...(offload ? { flowtableOffload: true } : {}),
    });
  }

  async sync(engine: PolicyEngine): Promise<SyncResult> {
    const t0 = performance.now();
    const changes = engine.flush();
    const t1 = performance.now();
    this.renderer.apply(changes);
    // FelixConfiguration applied live: this node's settings as the engine resolves them now (node.<name> over
    // default, the agent's flags over both) re-render the chains they shape, in this same transaction.
    const s = engine.nodeSettings(this.node);
    const settingsChanged = this.renderer.updateSettings({
      defaultEndpointToHostAction: s.defaultEndpointToHostAction, allowVXLANPacketsFromWorkloads: s.allowVXLANPacketsFromWorkloads,
      allowIPIPPacketsFromWorkloads: s.allowIPIPPacketsFromWorkloads, vxlanPort: s.vxlanPort,
      failsafeInboundHostPorts: s.failsafeInboundHostPorts, failsafeOutboundHostPorts: s.failsafeOutboundHostPorts,
    });
    this.renderer.settle();
    const retryOffload = this.offload ? await this.offload.update(this.renderer) : false;
    const plan = this.renderer.ruleset.plan();
    const t2 = performance.now();
    try {
      if (plan.tx.size > 0) await this.nft.run(plan.tx);
    } catch (err) {
      this.renderer.ruleset.invalidate();
      return { ok: false, full: plan.full, error: `nft: ${err instanceof Error ? err.message : String(err)}`, retryOffload, settingsChanged };
    }
    plan.commit();
    const ms = (x: number): number => Math.round(x * 10) / 10;
    return { ok: true, full: plan.full, phases: { engineMs: ms(t1 - t0), renderMs: ms(t2 - t1), nftMs: ms(performance.now() - t2) }, retryOffload, settingsChanged };
  }
}
