/**
 * The networks of a lab run go with it. They are records in the lab's private state
 * directory (`lab network create` runs on it), but their bridges, nftables tables and
 * name servers are the host's: at the end of the lab — and in the sweep after a lab run
 * that was killed — every network it made is removed, after its sandboxes are. The
 * default `bridge` network (lab0) is the host's as much as the lab's: it is taken down
 * only when no interface is left on it (a sandbox of the user's own would have one;
 * the user's next bridged run makes it again, as lab makes a missing bridge anew).
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

/** Removes the networks recorded in a lab run's state directory, which goes next: after
 * its sandboxes, and even if one of their records would not go (it goes with the directory). */
export async function removeLabNetworks(stateDir: string): Promise<string[]> {
  if (!existsSync(join(stateDir, 'networks')) || process.getuid?.() !== 0) return []
  const [{Networks}, {DEFAULT_NETWORK}, {removeRuleset}, {removeBridge, bridgeExists}, {stopDns}] = await Promise.all([
    import('../network/networks.js'),
    import('../network/store.js'),
    import('../network/firewall.js'),
    import('../network/kernel.js'),
    import('../network/dns.js'),
  ])
  const nets = new Networks(stateDir)
  const removed: string[] = []
  for (const n of nets.nets.all()) {
    try {
      if (n.name !== DEFAULT_NETWORK) {
        await nets.remove(n.name, {evenInUse: true})
        removed.push(n.name)
        continue
      }
      if (!bridgeExists(n.bridge)) continue
      // netlink, not /sys: sysfs may be another namespace's
      const ports = spawnSync('ip', ['-o', 'link', 'show', 'master', n.bridge], {encoding: 'utf8'})
      if (ports.status !== 0 || ports.stdout.trim() !== '') continue
      stopDns(nets.nets, n)
      removeRuleset(n)
      removeBridge(n.bridge)
      removed.push(n.name)
    } catch {
      /* the kernel refused (a bridge still busy): the other networks go all the same */
    }
  }
  return removed
}
