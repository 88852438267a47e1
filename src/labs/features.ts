/**
 * Which engine features exist, asked of the engine itself (its flag table and its
 * modules), so a lab step lights up the day its feature lands and is shown as
 * unavailable, with the reason, until then — never faked.
 */
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {RUN_FLAGS} from '../cli/run-flags.js'
import type {Feature} from './schema.js'

const hasFlag = (name: string) => RUN_FLAGS.some((f) => f.name === name)
const hasModule = (...rels: string[]) => rels.some((r) => existsSync(fileURLToPath(new URL(r, import.meta.url))))

/**
 * The lab runner drives foreground runs only: detached sandboxes, named volumes that
 * outlive a run and joined namespaces need the lifecycle API behind new action kinds
 * (detach, exec, stop, rm, volume create/rm) with cleanup at the end of a lab. Until
 * those kinds exist in actions.ts, steps that need them stay unavailable.
 */
export const RUNNER_DRIVES_LIFECYCLE = false

interface FeatureProbe {
  what: string
  probe: () => boolean
}

const PROBES: Record<Feature, FeatureProbe> = {
  lifecycle: {what: 'detached sandboxes, names, exec, stop, rm and logs', probe: () => RUNNER_DRIVES_LIFECYCLE && hasFlag('detach') && hasModule('../sandbox/lifecycle.js', '../sandbox/lifecycle/index.js')},
  'named-volumes': {what: 'named volumes and --volumes-from', probe: () => RUNNER_DRIVES_LIFECYCLE && hasFlag('volumes-from')},
  limits: {what: 'memory, CPU and pids limits with their verdicts', probe: () => hasFlag('memory') && hasFlag('cpus') && hasFlag('pids-limit')},
  'io-limits': {what: 'block I/O limits', probe: () => hasFlag('device-read-bps')},
  'seccomp-profiles': {what: 'seccomp profiles', probe: () => hasModule('../seccomp/profiles.js', '../seccomp/resolve.js', '../seccomp/compile.js')},
  userns: {what: 'user namespaces (root inside is not root outside)', probe: () => hasFlag('userns')},
  'joined-namespaces': {what: 'joining another sandbox\'s namespaces (--network container:NAME, --ipc)', probe: () => RUNNER_DRIVES_LIFECYCLE && hasFlag('ipc')},
}

/** Run flags that belong to a feature the engine may not have yet. */
export const FLAG_FEATURES: Record<string, Feature> = {
  detach: 'lifecycle',
  d: 'lifecycle',
  restart: 'lifecycle',
  'volumes-from': 'named-volumes',
  memory: 'limits',
  m: 'limits',
  cpus: 'limits',
  'cpuset-cpus': 'limits',
  'pids-limit': 'limits',
  'memory-swap': 'limits',
  'device-read-bps': 'io-limits',
  'device-write-bps': 'io-limits',
  userns: 'userns',
  ipc: 'joined-namespaces',
}

const cache = new Map<Feature, boolean>()

export function hasFeature(f: Feature): boolean {
  let v = cache.get(f)
  if (v === undefined) {
    v = PROBES[f].probe()
    cache.set(f, v)
  }
  return v
}

/** The reason a step cannot run yet, or null when the engine has every feature. */
export function missingFeatures(features: Iterable<Feature>): string | null {
  const missing = [...new Set(features)].filter((f) => !hasFeature(f))
  if (missing.length === 0) return null
  return `needs ${missing.map((f) => PROBES[f].what).join('; ')}, which this engine (or the lab runner) does not have yet`
}
