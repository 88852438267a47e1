/**
 * A lifecycle sandbox's state, read from its supervisor's status.json (written
 * atomically by detach.c) and checked against the living: a supervisor found dead (by
 * pid and start time) is recorded as exited on the spot, so the next command reports
 * the truth.
 *
 * States: created → running ⇄ paused; running → restarting → running; running → exited;
 * exited → running (start); created|exited → removed (rm), anything → removed (rm -f).
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {failureSentence, signalName} from '../result.js'
import {writeJsonAtomic} from '../state/atomic.js'
import {isAlive} from '../state/proc.js'
import type {SandboxRecord, Store, SupervisorStatus} from '../state/store.js'
import type {SandboxGroups} from './groups.js'

export type SandboxStatusName = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'removed'

export interface SandboxState {
  status: SandboxStatusName
  running: boolean
  paused: boolean
  restarting: boolean
  pid: number
  exitCode: number
  signal: string | null
  killedBy: string | null
  error: string
  startedAt: string | null
  finishedAt: string | null
  restartCount: number
  supervisorPid: number
}

export interface SandboxSummary {
  id: string
  name: string
  command: string
  created: string
  state: SandboxState
}

export function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null
}

/** The live state; a supervisor found dead is recorded as exited on the spot. */
export function readState(store: Store, groups: SandboxGroups, rec: SandboxRecord, reread = true): SandboxState {
  const s = store.status(rec.id)
  const base: SandboxState = {
    status: 'created', running: false, paused: false, restarting: false, pid: 0, exitCode: 0, signal: null,
    killedBy: null, error: '', startedAt: null, finishedAt: null, restartCount: 0, supervisorPid: 0,
  }
  if (!s) {
    // started before, but no runtime status: the host restarted (the run root is a tmpfs)
    if (rec.everStarted) return {...base, status: 'exited', exitCode: 255, killedBy: 'host-restart', error: 'the host restarted while the sandbox ran'}
    return base
  }
  const st: SandboxState = {
    ...base,
    status: s.state === 'created' ? 'created' : s.state,
    pid: s.state === 'running' ? s.pid : 0,
    exitCode: s.exitCode,
    signal: s.signal ? signalName(s.signal) : null,
    killedBy: s.killedBy,
    error: s.error ? failureSentence({stage: s.error.stage ?? 'setup', call: s.error.call ?? '', path: s.error.path ?? '', message: s.error.message ?? 'set-up failed'}, rec.name) : '',
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    restartCount: s.restartCount,
    supervisorPid: s.state === 'exited' ? 0 : s.supervisorPid,
  }
  if (s.state === 'running' || s.state === 'restarting') {
    if (!isAlive(s.supervisorPid, s.supervisorStart)) {
      // A supervisor writes its final status, then exits: gone now, it may have written
      // one after the read above (a sandbox that ended at that moment). Only a status
      // still unfinished once it is gone means it died.
      if (reread && store.status(rec.id)?.state === 'exited') return readState(store, groups, rec, false)
      return markSupervisorDead(store, rec, s, st)
    }
    if (s.state === 'running' && groups.isFrozen(rec.id)) st.status = 'paused'
  }
  st.running = st.status === 'running' || st.status === 'paused'
  st.paused = st.status === 'paused'
  st.restarting = st.status === 'restarting'
  return st
}

/**
 * The supervisor was killed (or the machine lost it): its sandbox died with it
 * (PDEATHSIG). Record that, drop the dead control socket; the group is swept by the
 * next cgroup sweep, as its owner is gone.
 */
function markSupervisorDead(store: Store, rec: SandboxRecord, s: SupervisorStatus, st: SandboxState): SandboxState {
  const now = Date.now()
  const dead: SupervisorStatus = {...s, state: 'exited', exitCode: 137, signal: 9, killedBy: 'supervisor-died', finishedAt: now, pid: 0}
  try {
    writeJsonAtomic(join(store.runDir(rec.id), 'status.json'), dead)
    rmSync(join(store.runDir(rec.id), 'ctl'), {force: true})
  } catch {}
  return {...st, status: 'exited', running: false, restarting: false, paused: false, pid: 0, exitCode: 137, signal: 'SIGKILL', killedBy: 'supervisor-died', finishedAt: iso(now), supervisorPid: 0}
}
