/**
 * Which engine features exist, asked of the engine itself (its flag table and its
 * modules), so a lab step lights up the day its feature lands and is shown as
 * unavailable, with the reason, until then — never faked.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {fileURLToPath} from 'node:url'

import {RUN_FLAGS} from '../cli/run-flags.js'
import {detectCgroups} from '../sandbox/cgroups/detect.js'
import {staticBusybox} from './archive.js'
import {hasRegistryBinary} from './registry.js'
import {blockDeviceOf} from './render.js'
import type {Feature} from './schema.js'

const hasFlag = (name: string) => RUN_FLAGS.some((f) => f.name === name)
const hasModule = (...rels: string[]) => rels.some((r) => existsSync(fileURLToPath(new URL(r, import.meta.url))))

/**
 * The lab runner drives the lifecycle API (detached runs, exec, stop, rm, logs, wait,
 * volumes) on a private state directory that is emptied at the end of every lab run.
 */
export const RUNNER_DRIVES_LIFECYCLE = true

/** Block I/O limits need the engine's flags and, on this host, a blkio (v1) or io (v2) controller. */
function hostHasIoController(): boolean {
  try {
    const l = detectCgroups()
    return l.mode === 'v2' ? l.v2Controllers.includes('io') : 'blkio' in l.v1
  } catch {
    return false
  }
}

/** Why this host cannot limit block I/O of a lab's work directory, or null. */
function ioLimitsHostReason(): string | null {
  if (!hasFlag('device-read-bps')) return null
  if (!hostHasIoController()) return 'this host has no blkio (cgroup v1) or io (cgroup v2) controller'
  if (!blockDeviceOf(tmpdir())) return `${tmpdir()} is not on a block device (tmpfs or overlay), so there is no disk to limit`
  return null
}

/** Why this host cannot make bridged networks (root, iproute2 and nftables, as lab doctor says), or null. */
function bridgedHostReason(): string | null {
  if (process.getuid?.() !== 0) return 'bridged networks need root for now (lab doctor)'
  const missing = [['ip', '-V'], ['nft', '--version']].filter(([c, a]) => spawnSync(c, [a], {stdio: 'ignore', timeout: 5000}).status !== 0).map(([c]) => c)
  return missing.length ? `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed: apt-get install iproute2 nftables` : null
}

const engineHasBridges = () => hasFlag('network-alias') && hasFlag('link') && hasModule('../network/networks.js')

interface FeatureProbe {
  what: string
  probe: () => boolean
  /** set when the engine has the feature but this host cannot provide it */
  host?: () => string | null
}

const PROBES: Record<Feature, FeatureProbe> = {
  lifecycle: {what: 'detached sandboxes, names, exec, stop, rm and logs', probe: () => RUNNER_DRIVES_LIFECYCLE && hasFlag('detach') && hasModule('../sandbox/lifecycle.js', '../sandbox/lifecycle/index.js')},
  'named-volumes': {what: 'named volumes and --volumes-from', probe: () => RUNNER_DRIVES_LIFECYCLE && hasFlag('volumes-from')},
  limits: {what: 'memory, CPU and pids limits with their verdicts', probe: () => hasFlag('memory') && hasFlag('cpus') && hasFlag('pids-limit')},
  'io-limits': {what: 'block I/O limits', probe: () => hasFlag('device-read-bps') && ioLimitsHostReason() === null, host: ioLimitsHostReason},
  'seccomp-profiles': {what: 'seccomp profiles', probe: () => hasModule('../seccomp/profiles.js', '../seccomp/resolve.js', '../seccomp/compile.js')},
  userns: {what: 'user namespaces (root inside is not root outside)', probe: () => hasFlag('userns')},
  images: {what: 'images (lab image …, lab sandbox run --image)', probe: () => hasFlag('image') && hasModule('../images/overlay.js')},
  // what the host has, not the engine: the image labs make their images from it
  'static-busybox': {what: 'a statically linked busybox to build images from', probe: () => staticBusybox() !== null, host: () => (staticBusybox() ? null : 'there is no static /bin/busybox: install it with `apt-get install busybox-static`')},
  registry: {what: 'a local registry to push to and pull from', probe: hasRegistryBinary, host: () => (hasRegistryBinary() ? null : 'docker-registry is not installed: install it with `apt-get install docker-registry`')},
  'bridged-networks': {what: 'bridged networks (--network bridge|NAME, -p, lab network …)', probe: () => engineHasBridges() && bridgedHostReason() === null, host: () => (engineHasBridges() ? bridgedHostReason() : null)},
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
  image: 'images',
  pid: 'joined-namespaces',
  'device-read-iops': 'io-limits',
  'device-write-iops': 'io-limits',
  'network-alias': 'bridged-networks',
  link: 'bridged-networks',
  publish: 'bridged-networks',
  p: 'bridged-networks',
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
  const hostReasons = missing.map((f) => PROBES[f].host?.()).filter((r): r is string => Boolean(r))
  if (hostReasons.length === missing.length) return `needs ${missing.map((f) => PROBES[f].what).join('; ')}, which this host cannot provide: ${hostReasons.join('; ')}`
  return `needs ${missing.map((f) => PROBES[f].what).join('; ')}, which this engine (or the lab runner) does not have yet`
}
