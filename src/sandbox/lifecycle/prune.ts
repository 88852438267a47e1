/** lab system prune: what stopped sandboxes, dead CLIs and dead supervisors left behind. */
import {existsSync, readdirSync, rmSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import type {LifecycleContext} from './context.js'
import {ID_PATTERN, shortId} from '../names.js'
import {bridgeNetworks} from '../networks.js'
import {isAlive} from '../state/proc.js'

/**
 * Removes every stopped sandbox and whatever crashed CLIs or supervisors left:
 * half-created records, runtime directories without a record, stale name links and
 * locks, cgroups whose owner died, and unused anonymous volumes (all unused with volumes: 'all').
 */
export async function prune(lc: LifecycleContext, opts: {volumes?: boolean | 'all'} = {}): Promise<{sandboxes: string[]; orphans: string[]; cgroups: string[]; volumes: string[]}> {
  const report = {sandboxes: [] as string[], orphans: [] as string[], cgroups: [] as string[], volumes: [] as string[]}
  for (const rec of lc.store.all()) {
    const st = lc.state(rec)
    if (st.running || st.restarting) continue
    try {
      await lc.remove(rec.id, {volumes: true})
      report.sandboxes.push(rec.name)
    } catch {}
  }
  const now = Date.now()
  for (const id of lc.store.ids()) {
    const dir = lc.store.dir(id)
    if (existsSync(join(dir, 'config.json'))) continue
    // a create still in progress is younger than a minute
    try {
      if (now - statSync(dir).mtimeMs < 60_000) continue
    } catch {}
    rmSync(dir, {recursive: true, force: true})
    report.orphans.push(`record ${shortId(id)}`)
  }
  for (const id of safeReaddir(lc.store.dirs.runSandboxes)) {
    if (!ID_PATTERN.test(id) || lc.store.load(id)) continue
    const s = lc.store.status(id)
    if (s && s.state !== 'exited' && isAlive(s.supervisorPid, s.supervisorStart)) process.kill(s.supervisorPid, 'SIGKILL')
    rmSync(lc.store.runDir(id), {recursive: true, force: true})
    await lc.groups.remove(id)
    report.orphans.push(`runtime ${shortId(id)}`)
  }
  for (const name of safeReaddir(lc.store.dirs.names)) {
    const holder = lc.store.nameHolder(name)
    if (!holder || !lc.store.load(holder)) {
      if (holder && existsSync(lc.store.dir(holder))) continue // being created right now
      try {
        unlinkSync(join(lc.store.dirs.names, name))
        report.orphans.push(`name ${name}`)
      } catch {}
    }
  }
  try {
    report.cgroups = await lc.groups.sweep()
  } catch {}
  // bridged networks: leases, published ports and names of sandboxes gone by any way
  try {
    await bridgeNetworks()?.reconcile(lc.store)
  } catch {}
  if (opts.volumes) report.volumes = lc.volumes.prune({all: opts.volumes === 'all'})
  return report
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
