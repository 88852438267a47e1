/**
 * What a `uses:` step maps to in lab: actions/checkout is the workspace (already
 * mounted); actions/cache and upload/download-artifact are lab's cache and artifacts
 * (builtin-actions.ts); a local action (./path) or a remote one given a local copy with
 * --action-dir OWNER/REPO@REF=DIR is read from its action.yml; any other remote action
 * cannot be fetched offline and is skipped with a warning (an error with --strict).
 */
import {LabError, usageError} from '../errors.js'
import {builtinAction} from './builtin-actions.js'

export type UsesKind = 'checkout' | 'builtin' | 'local' | 'action-dir' | 'docker' | 'remote'

export function usesKind(uses: string, actionDirs: Record<string, string>): UsesKind {
  if (/^actions\/checkout(@.*)?$/.test(uses)) return 'checkout'
  if (builtinAction(uses)) return 'builtin'
  if (uses.startsWith('./')) return 'local'
  if (uses.startsWith('docker://')) return 'docker'
  if (uses in actionDirs) return 'action-dir'
  return 'remote'
}

export function describeUses(uses: string, actionDirs: Record<string, string>): string {
  switch (usesKind(uses, actionDirs)) {
    case 'checkout': return 'the workspace (already mounted)'
    case 'builtin': return builtinAction(uses) === 'cache' ? 'lab\'s cache store' : 'lab\'s artifacts of this run'
    case 'local': return 'a local action of the workspace'
    case 'action-dir': return `the local copy ${actionDirs[uses]}`
    case 'docker': return 'is not supported (lab does not pull container images); the step is skipped'
    default: return `is not supported offline (lab does not download actions); the step is skipped — give a local copy with --action-dir ${uses}=DIR`
  }
}

/** --action-dir OWNER/REPO@REF=DIR (repeatable) → uses → directory. */
export function parseActionDirs(specs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of specs ?? []) {
    const m = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.\/-]+@[^=\s]+)=(.+)$/.exec(spec)
    if (!m) throw usageError(`--action-dir ${spec}: expected OWNER/REPO@REF=DIR`, 'e.g. --action-dir actions/setup-node@v4=../setup-node')
    out[m[1]] = m[2]
  }
  return out
}

export function unsupportedError(uses: string, where: string): LabError {
  return new LabError('ci-unsupported', `${where}: "uses: ${uses}" is not supported offline (lab does not download actions)`, {hint: `give a local copy with --action-dir ${uses.startsWith('docker://') ? 'OWNER/REPO@REF' : uses}=DIR, replace the step with a run: step, or leave out --strict to skip it with a warning`})
}
