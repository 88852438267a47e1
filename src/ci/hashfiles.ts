/**
 * GitHub's hashFiles(PATTERN…): the files of the workspace matching the patterns (glob
 * patterns relative to it, `!` to exclude, later ones override earlier ones), each
 * hashed with SHA-256 in path order, then one SHA-256 over those hashes; '' when no file
 * matches. Links are never followed, so a planted link cannot make lab read a host file.
 */
import {createHash} from 'node:crypto'
import {lstatSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {matchesPatterns} from './events.js'

const MAX_FILES = 200_000

/** Workspace-relative files (and, with dirs, directories) matching GitHub glob patterns, in path order. */
export function globWorkspace(workspace: string, patterns: string[], opts: {dirs?: boolean} = {}): string[] {
  const pats = patterns.map((p) => p.trim().replace(/^\.\//, '').replace(/^\/workspace\//, '')).filter(Boolean)
  if (!pats.length) return []
  const out: string[] = []
  let seen = 0
  const walk = (rel: string) => {
    for (const name of readdirSync(join(workspace, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(workspace, r))
      if (++seen > MAX_FILES) throw new LabError('ci-expression', `the workspace has more than ${MAX_FILES} entries to match ${pats.join(', ')}`, {hint: 'match fewer files'})
      if (st.isDirectory()) {
        if (opts.dirs && matchesPatterns(pats, r)) out.push(r)
        else walk(r)
      } else if (st.isFile() && matchesPatterns(pats, r)) out.push(r)
    }
  }
  walk('')
  return out
}

export function hashFilesGlob(workspace: string, patterns: string[]): string {
  const files = globWorkspace(workspace, patterns)
  if (!files.length) return ''
  const all = createHash('sha256')
  for (const f of files) all.update(createHash('sha256').update(readFileSync(join(workspace, f))).digest())
  return all.digest('hex')
}
