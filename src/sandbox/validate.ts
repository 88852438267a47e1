/**
 * The spec's checks: the schema first (compiled ahead of time), then named checks of
 * meaning that a schema cannot express. Nothing runs before both pass.
 */
import {dirname} from 'node:path'

import {LabError} from '../errors.js'
import {assertValid} from '../validators.js'
import {isWithin} from './paths.js'
import type {SandboxSpec} from './spec.js'

type Check = {name: string; run: (s: SandboxSpec) => string | null; hint: string}

/** Capabilities whose power lies in a namespace: with the host's, only the host's root has it. */
const NAMESPACED_CAPS: Array<{ns: 'network' | 'ipc'; caps: string[]}> = [
  {ns: 'network', caps: ['NET_RAW', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST']},
  {ns: 'ipc', caps: ['IPC_OWNER']},
]

/**
 * A capability counts only in the namespaces its user namespace owns. A remapped sandbox
 * on the host's network (or IPC) namespace holds NET_RAW in its own user namespace, which
 * does not own the host's: the capability would be there and do nothing.
 */
function capabilityCannotReach(s: SandboxSpec): string | null {
  if (s.userns === 'host') return null
  const onHost = {network: s.network === 'host', ipc: s.share?.ipc === 'host'}
  for (const {ns, caps} of NAMESPACED_CAPS) {
    if (!onHost[ns]) continue
    const c = s.process.capabilities.find((x) => caps.includes(x))
    if (c) return `--cap-add ${c} cannot work with --${ns} host under user remapping: the host's ${ns} namespace belongs to the host's root, not to the sandbox's user namespace`
  }
  return null
}

const CHECKS: Check[] = [
  {
    name: 'unique-destinations',
    hint: 'mount each destination once',
    run: (s) => {
      const seen = new Set<string>()
      for (const m of s.mounts) {
        if (seen.has(m.destination)) return `two mounts at ${m.destination}`
        seen.add(m.destination)
      }
      return null
    },
  },
  {
    name: 'no-engine-paths',
    hint: '/proc, /sys and /dev are set up by the engine with their protections',
    run: (s) => {
      const m = s.mounts.find((x) => x.destination === '/' || ['/proc', '/sys', '/dev'].some((r) => isWithin(x.destination, r) && x.destination !== '/dev/shm'))
      return m ? `cannot mount over ${m.destination}` : null
    },
  },
  {
    name: 'root-path',
    hint: 'a prepared root needs its directory; the host root takes none',
    run: (s) => ((s.root.type === 'dir') !== (s.root.path !== undefined) ? 'root.path must be given exactly for a directory root' : null),
  },
  {
    name: 'image-root',
    hint: 'an image root names its layers; its upper and work directories come as a pair in one directory',
    run: (s) => {
      const r = s.root
      if ((r.type === 'image') !== (r.layers !== undefined)) return 'root.layers must be given exactly for an image root'
      if ((r.upper === undefined) !== (r.work === undefined)) return 'root.upper and root.work go together'
      if (r.upper !== undefined && (r.type !== 'image' || dirname(r.upper) !== dirname(r.work!) || r.upper === r.work)) return 'root.upper and root.work must be two directories side by side, for an image root'
      return null
    },
  },
  {
    name: 'capability-reaches-namespace',
    hint: 'add --userns=host (as root) to run with the host\'s ids, or leave out the capability or the host namespace',
    run: capabilityCannotReach,
  },
  {
    name: 'cwd-not-engine-owned',
    hint: 'choose a working directory outside /proc and /sys',
    run: (s) => (['/proc', '/sys'].some((r) => isWithin(s.process.cwd, r)) ? `working directory ${s.process.cwd} is inside a kernel file system` : null),
  },
]

export async function validateSpec(spec: SandboxSpec): Promise<void> {
  await assertValid('sandbox-spec', spec, 'invalid sandbox spec', 'this is a bug in the front end that built it')
  for (const c of CHECKS) {
    const problem = c.run(spec)
    if (problem) throw new LabError(`spec-${c.name}`, problem, {hint: c.hint})
  }
}
