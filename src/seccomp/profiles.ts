/**
 * Built-in profiles: the JSON files in profiles/ at the package root, by name.
 * A profile given to --security-opt seccomp= is a built-in name, a path, or "unconfined".
 */
import {readdirSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {usageError} from '../errors.js'
import {loadProfileFile} from './load.js'
import type {SeccompProfile} from './schema.js'

export const PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url))
export const DEFAULT_PROFILE = 'default'
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

let names: string[] | null = null

/** The built-in profiles' names (the package's profiles/ directory, read once per process). */
export function builtinNames(): string[] {
  if (!names) {
    try {
      names = readdirSync(PROFILES_DIR)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .filter((n) => NAME.test(n))
        .sort()
    } catch {
      return []
    }
  }
  return [...names]
}

export interface ProfileRef {
  /** the built-in name, or the absolute path of a file */
  id: string
  path: string
  builtin: boolean
}

/** A built-in name or a file path (relative to the current directory). */
export function findProfile(ref: string): ProfileRef {
  if (NAME.test(ref) && !ref.endsWith('.json')) {
    if (builtinNames().includes(ref)) return {id: ref, path: join(PROFILES_DIR, `${ref}.json`), builtin: true}
    if (!ref.includes('/')) {
      throw usageError(`no built-in seccomp profile "${ref}"`, `use one of ${[...builtinNames(), 'unconfined'].join(', ')}, or a path to a JSON profile`)
    }
  }
  const path = isAbsolute(ref) ? ref : resolve(ref)
  return {id: path, path, builtin: false}
}

export async function loadProfileRef(ref: string): Promise<{ref: ProfileRef; profile: SeccompProfile}> {
  const r = findProfile(ref)
  const {profile} = await loadProfileFile(r.path)
  return {ref: r, profile}
}
