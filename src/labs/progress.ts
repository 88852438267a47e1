/**
 * Exercise progress, like rustlings: which steps of which lab passed, and the hints of
 * the checks that failed last time (for `lab hint`). Stored as JSON in the user's
 * state directory ($LAB_STATE_DIR; as root /var/lib/lab; else $XDG_STATE_HOME/lab or ~/.local/state/lab),
 * written atomically (temporary file + rename) so an interrupted write loses nothing.
 */
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {LabError} from '../errors.js'

export interface StepProgress {
  passed: boolean
  at: string
  /** failed checks of the last attempt, with their hints */
  failed: Array<{check: string; detail?: string; hint?: string}>
}

export interface LabProgress {
  workDir: string
  steps: Record<string, StepProgress>
}

interface ProgressFile {
  version: 1
  labs: Record<string, LabProgress>
}

/** lab's state: $LAB_STATE_DIR; as root /var/lib/lab, as the sandboxes' state is; else the XDG state directory. */
export function stateDir(): string {
  if (process.env.LAB_STATE_DIR) return process.env.LAB_STATE_DIR
  if (process.getuid?.() === 0) return '/var/lib/lab'
  if (process.env.XDG_STATE_HOME) return join(process.env.XDG_STATE_HOME, 'lab')
  return join(homedir(), '.local', 'state', 'lab')
}

export function progressFile(): string {
  return join(stateDir(), 'progress.json')
}

export function readProgress(): ProgressFile {
  let text: string
  try {
    text = readFileSync(progressFile(), 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, labs: {}}
    throw new LabError('progress', `cannot read ${progressFile()}: ${(e as Error).message}`, {hint: 'check its permissions, or set LAB_STATE_DIR'})
  }
  try {
    const data = JSON.parse(text) as ProgressFile
    if (data.version !== 1 || typeof data.labs !== 'object' || data.labs === null) throw new Error('unknown format')
    return data
  } catch (e) {
    throw new LabError('progress', `${progressFile()} is damaged (${(e as Error).message})`, {hint: 'move it away; `lab check` then starts a new one'})
  }
}

function writeProgress(p: ProgressFile): void {
  const file = progressFile()
  mkdirSync(stateDir(), {recursive: true, mode: 0o700})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(p, null, 2) + '\n', {mode: 0o600})
  renameSync(tmp, file)
}

export function labProgress(id: string): LabProgress | undefined {
  return readProgress().labs[id]
}

export function recordSteps(id: string, workDir: string, steps: Record<string, StepProgress>): LabProgress {
  const p = readProgress()
  const lab = p.labs[id] && p.labs[id].workDir === workDir ? p.labs[id] : {workDir, steps: {}}
  Object.assign(lab.steps, steps)
  p.labs[id] = lab
  writeProgress(p)
  return lab
}

export function forgetLab(id: string): boolean {
  const p = readProgress()
  if (!p.labs[id]) return false
  delete p.labs[id]
  writeProgress(p)
  return true
}
