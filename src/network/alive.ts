/** Whether a sandbox of the store runs: its supervisor's status says so and the supervisor lives. */
import {isAlive} from '../sandbox/state/proc.js'
import type {Store} from '../sandbox/state/store.js'

export function sandboxRunning(store: Store, id: string): boolean {
  const s = store.status(id)
  return !!s && (s.state === 'running' || s.state === 'restarting') && isAlive(s.supervisorPid, s.supervisorStart)
}
