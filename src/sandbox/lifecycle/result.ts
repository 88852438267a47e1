/**
 * A lifecycle sandbox's result, in the shape a foreground run returns (run.ts): the
 * verdict judged by the same function (result.ts) from the supervisor's final status
 * (why it ended: killedBy) and the groups' final counters (OOM kills, refused forks, CPU
 * time, peaks), which the supervisor keeps in its status when it removes the groups.
 */
import type {LifecycleContext} from './context.js'
import {DEFAULT_LIMITS} from '../limits.js'
import {resultFromEvents, type ExitEvent, type HelperError, type SandboxResult} from '../result.js'
import type {SandboxRecord} from '../state/store.js'

export async function resultOf(lc: LifecycleContext, rec: SandboxRecord): Promise<SandboxResult> {
  const s = lc.store.status(rec.id)
  const stats = await lc.cgroupStats(rec)
  const limits = rec.spec.limits ?? DEFAULT_LIMITS
  const error: HelperError | null = s?.error
    ? {stage: s.error.stage ?? 'setup', call: s.error.call ?? '', path: s.error.path ?? '', errno: 0, errnoName: s.error.errnoName ?? '', message: s.error.message ?? 'set-up failed'}
    : null
  const cpuUs = stats ? stats.cpuUserUs + stats.cpuSystemUs : 0
  const exit: ExitEvent | null = s && s.state === 'exited'
    ? {exitCode: s.exitCode, signal: s.signal, coreDumped: false, killedBy: s.killedBy, wallUs: Math.max(0, s.finishedAt - s.startedAt) * 1000, userUs: stats?.cpuUserUs ?? 0, sysUs: stats?.cpuSystemUs ?? 0, maxRssKb: 0}
    : null
  // a supervisor that died, or a host restart: the sandbox was killed, not judged
  if (!s && rec.everStarted) {
    const st = lc.state(rec)
    const lost = resultFromEvents(rec, {exitCode: st.exitCode, signal: 0, coreDumped: false, killedBy: st.killedBy, wallUs: 0, userUs: 0, sysUs: 0, maxRssKb: 0}, null)
    lost.evidence = {endedBy: st.killedBy, error: st.error}
    return lost
  }
  const result = resultFromEvents(rec, exit, error, {
    stats,
    limits,
    timeoutMs: rec.spec.timeoutMs,
    rlimits: rec.spec.process.rlimits,
    cpuTimeExceededUs: s?.killedBy === 'cpu-time' ? Math.max(cpuUs, (limits.cpuTimeMs ?? 0) * 1000) : null,
    outputLimited: s?.killedBy === 'output-limit',
    outputLimitBytes: limits.outputBytes,
  })
  result.seccompProfile = rec.spec.seccomp.profile
  result.userns = rec.spec.userns === 'host' ? null : rec.userns ?? null
  return result
}
