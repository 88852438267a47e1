/**
 * The build context: a directory, its .dockerignore, and the Dockerfile.
 *
 * .dockerignore is read as Docker reads it: one pattern a line, `#` comments, patterns
 * cleaned and relative to the context's root (a leading / is dropped), Go's path.Match
 * syntax (* ? [a-z] \x) plus `**` for any number of directories, `!` re-includes; the
 * last pattern that matches a path decides, and a path is excluded when one of its
 * parent directories is. An excluded file does not exist for COPY and ADD, and is not
 * read for the cache key. A Dockerfile given with -f may have its own, NAME.dockerignore
 * beside it, which is read instead (as BuildKit does).
 */
import {lstatSync, readFileSync, realpathSync} from 'node:fs'
import {posix, resolve} from 'node:path'

import {usageError} from '../errors.js'
import {ContextTree} from './tree.js'

interface Pattern {
  re: RegExp
  exclusion: boolean
}

function globToRegExp(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++
        if (pattern[i + 1] === '/') {
          i++
          re += '(?:.*/)?'
        } else re += '.*'
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\')
        if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1)
        re += `[${cls}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i]
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

export function parseDockerignore(text: string): Pattern[] {
  const out: Pattern[] = []
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue
    line = line.trim()
    if (line === '') continue
    let exclusion = false
    if (line.startsWith('!')) {
      exclusion = true
      line = line.slice(1).trim()
    }
    line = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '')
    if (line === '.' || line === '') continue
    out.push({re: globToRegExp(line), exclusion})
  }
  return out
}

/** Whether a context-relative path is excluded: by its own match or a parent's. */
export function ignoreMatcher(patterns: Pattern[]): (rel: string) => boolean {
  if (patterns.length === 0) return () => false
  const cache = new Map<string, boolean>()
  const own = (rel: string): boolean => {
    let hit = false
    for (const p of patterns) if (p.re.test(rel)) hit = !p.exclusion
    return hit
  }
  const matches = (rel: string): boolean => {
    const c = cache.get(rel)
    if (c !== undefined) return c
    const slash = rel.lastIndexOf('/')
    // a parent excluded excludes its children, unless a pattern re-includes this path
    let v = own(rel)
    if (!v && slash > 0 && matches(rel.slice(0, slash))) v = !patterns.some((p) => p.exclusion && p.re.test(rel))
    cache.set(rel, v)
    return v
  }
  return matches
}

export interface BuildContext {
  root: string
  tree: ContextTree
  dockerfile: {path: string; text: string}
}

export function openContext(dir: string, dockerfile?: string, stdinText?: string): BuildContext {
  let root: string
  try {
    root = realpathSync(resolve(dir))
    if (!lstatSync(root).isDirectory()) throw new Error('not a directory')
  } catch {
    throw usageError(`the build context ${dir} is not a directory`, 'give the directory holding the files the Dockerfile copies, e.g. lab build -t app .')
  }
  let ignore: Pattern[] = []
  const lst = (p: string) => {
    try {
      return lstatSync(p)
    } catch {
      return null
    }
  }
  // as BuildKit: DOCKERFILE.dockerignore beside a Dockerfile given with -f comes first
  const own = dockerfile !== undefined && dockerfile !== '-' ? `${resolve(dockerfile)}.dockerignore` : undefined
  const di = own && lst(own) ? own : `${root}/.dockerignore`
  const st = lst(di)
  if (st) {
    if (!st.isFile()) throw usageError(`${di} is not a regular file`, 'make it a plain file (not a link)')
    ignore = parseDockerignore(readFileSync(di, 'utf8'))
  }
  const tree = new ContextTree(root, ignoreMatcher(ignore))
  let path: string
  let text: string
  if (dockerfile === '-') {
    path = '-'
    text = stdinText ?? ''
  } else {
    path = dockerfile !== undefined ? resolve(dockerfile) : `${root}/Dockerfile`
    try {
      if (!lstatSync(path).isFile() && !lstatSync(realpathSync(path)).isFile()) throw new Error('not a file')
      text = readFileSync(path, 'utf8')
    } catch {
      throw usageError(`cannot read the Dockerfile ${dockerfile ?? `${dir}/Dockerfile`}`, 'give its path with -f, or put a Dockerfile in the context directory')
    }
  }
  return {root, tree, dockerfile: {path, text}}
}
