/**
 * The spec's checks: the schema first (compiled ahead of time), then named checks of
 * meaning that a schema cannot express. Nothing runs before both pass.
 */
import {LabError} from '../errors.js'
import {assertValid} from '../validators.js'
import {isWithin} from './paths.js'
import type {SandboxSpec} from './spec.js'

type Check = {name: string; run: (s: SandboxSpec) => string | null; hint: string}

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
