/** Whether a sandbox runs: its supervisor's status says so and the supervisor lives. */
import {isAlive} from '../sandbox/state/proc.js'
import type {Store, SupervisorStatus} from '../sandbox/state/store.js'

/** A supervisor's status (status.json) of a sandbox that runs now. */
export function statusRunning(s: Pick<SupervisorStatus, 'state' | 'supervisorPid' | 'supervisorStart'> | null): boolean {
  return !!s && (s.state === 'running' || s.state === 'restarting') && isAlive(s.supervisorPid, s.supervisorStart)
}

export function sandboxRunning(store: Store, id: string): boolean {
  return statusRunning(store.status(id))
}
