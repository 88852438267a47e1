/**
 * What the lifecycle's parts need of the whole (lifecycle.ts implements it): the state
 * directory, the managed volumes, the cgroups, and a sandbox's live state. The parts
 * depend on this, not on the class, so they do not import their own caller.
 */
import type {CgroupStats} from '../cgroups/index.js'
import type {SandboxRecord, Store} from '../state/store.js'
import type {Volumes} from '../volumes-managed.js'
import type {SandboxGroups} from './groups.js'
import type {SandboxState} from './state.js'

export interface LifecycleContext {
  readonly store: Store
  readonly volumes: Volumes
  readonly groups: SandboxGroups
  state(rec: SandboxRecord): SandboxState
  cgroupStats(rec: SandboxRecord): Promise<CgroupStats | null>
  remove(ref: string, opts?: {force?: boolean; volumes?: boolean}): Promise<{id: string; name: string; volumes: string[]}>
}
