/**
 * Artifacts: paths of the job's workspace copied out after the job (once its steps and
 * services have ended, so nothing can swap a link in while we read), never following a
 * link, with a size cap. They land in the run's directory: artifacts/JOB/NAME/PATH.
 */
import {mkdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {LabError} from '../errors.js'
import {parseSize} from '../sandbox/units.js'
import {copyTree, resolveInside} from './files.js'
import type {ArtifactFile} from './schema.js'

export const DEFAULT_ARTIFACT_MAX = 100 * 1024 * 1024

export interface ArtifactResult {
  name: string
  /** where the files are on the host */
  path: string
  files: number
  bytes: number
  /** paths that matched nothing */
  missing: string[]
  /** entries left out (links, devices…) */
  skipped: string[]
  error?: string
}

export function shouldCollect(a: ArtifactFile, jobFailed: boolean): boolean {
  const when = a.when ?? 'success'
  return when === 'always' || (when === 'success') === !jobFailed
}

export function collectArtifact(a: ArtifactFile, index: number, workspace: string, outDir: string): ArtifactResult {
  const name = a.name ?? (index === 0 ? 'artifact' : `artifact-${index + 1}`)
  const dest = join(outDir, name)
  const max = a['max-size'] ? parseSize(a['max-size'], 'artifacts max-size') : DEFAULT_ARTIFACT_MAX
  const r: ArtifactResult = {name, path: dest, files: 0, bytes: 0, missing: [], skipped: []}
  rmSync(dest, {recursive: true, force: true})
  mkdirSync(dest, {recursive: true, mode: 0o755})
  try {
    for (const p of a.paths) {
      const clean = p.replace(/\/+$/, '')
      const found = resolveInside(workspace, clean)
      if (!found) {
        r.missing.push(p)
        continue
      }
      mkdirSync(dirname(join(dest, clean)), {recursive: true})
      const c = copyTree(found.path, join(dest, clean), {maxBytes: max - r.bytes, what: `artifact ${name}`, keepSymlinks: false, hardLinkOwner: null})
      r.files += c.files
      r.bytes += c.bytes
      r.skipped.push(...c.skipped.map((s) => `${clean}/${s}`))
    }
  } catch (e) {
    if (!(e instanceof LabError)) throw e
    r.error = e.message
    rmSync(dest, {recursive: true, force: true})
  }
  if (!r.error && r.files === 0) r.error = `no files matched ${a.paths.join(', ')}`
  return r
}
