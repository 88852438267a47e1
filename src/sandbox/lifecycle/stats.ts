/** What runs in live sandboxes: top (their processes) and stats (CPU, memory, processes). */
import {LabError} from '../../errors.js'
import type {LifecycleContext} from './context.js'
import {pidsInNamespaceOf, procInfo, type ProcInfo} from '../state/proc.js'
import type {SandboxRecord} from '../state/store.js'
import type {SandboxState} from './state.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function top(lc: LifecycleContext, ref: string): {id: string; name: string; titles: string[]; processes: ProcInfo[]} {
  const rec = lc.store.get(ref)
  const st = lc.state(rec)
  if (!st.running) throw new LabError('sandbox-not-running', `sandbox ${rec.name} is not running (${st.status})`, {hint: `start it: lab sandbox start ${rec.name}`})
  const processes = pidsInNamespaceOf(st.pid).map(procInfo).filter((p): p is ProcInfo => p !== null)
  return {id: rec.id, name: rec.name, titles: ['UID', 'PID', 'PPID', 'STAT', 'TIME', 'CMD'], processes}
}

/** CPU % over sampleMs, memory (sum of resident sets) and process count of running sandboxes. */
export async function stats(lc: LifecycleContext, refs: string[] = [], sampleMs = 500): Promise<Array<{id: string; name: string; cpuPercent: number; memoryBytes: number; memoryLimitBytes: number | null; pids: number}>> {
  const recs = refs.length ? refs.map((r) => lc.store.get(r)) : lc.store.all()
  const running = recs.map((r) => ({rec: r, st: lc.state(r)})).filter((x) => x.st.running)
  const cpu = async (x: {rec: SandboxRecord; st: SandboxState}) => {
    const g = lc.groups.open(x.rec.id)
    if (g) return g.cpuUsageUs().catch(() => 0)
    const tick = 1e6 / 100
    return pidsInNamespaceOf(x.st.pid).map(procInfo).reduce((s, p) => s + (p ? (p.utimeTicks + p.stimeTicks) * tick : 0), 0)
  }
  const before = await Promise.all(running.map(cpu))
  const t0 = process.hrtime.bigint()
  await sleep(sampleMs)
  const after = await Promise.all(running.map(cpu))
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000
  return running.map((x, i) => {
    const procs = pidsInNamespaceOf(x.st.pid).map(procInfo).filter((p): p is ProcInfo => p !== null)
    const limit = x.rec.spec.limits?.memoryBytes ?? null
    return {
      id: x.rec.id,
      name: x.rec.name,
      cpuPercent: Math.max(0, ((after[i] - before[i]) / elapsedUs) * 100),
      memoryBytes: procs.reduce((s, p) => s + p.rssBytes, 0),
      memoryLimitBytes: typeof limit === 'number' ? limit : null,
      pids: procs.length,
    }
  })
}
