/**
 * The one reader of KEY=value files (--env-file, --secret-file): a regular file, read
 * whole, one entry a line; blank lines and `#` comments skipped; CRLF accepted. It
 * returns the entries with their line numbers and leaves what a key may be, and whether
 * a bare KEY is allowed, to the caller — which also decides what an error may show (a
 * secret's line never is).
 */
import {readFileSync, statSync} from 'node:fs'

import {usageError} from '../errors.js'

export interface KeyValueLine {
  /** 1-based */
  line: number
  /** the text before the first "=", as written (the whole line when there is none) */
  key: string
  /** the text after the first "=", or undefined for a line without one */
  value: string | undefined
}

/** Reads `file` as KEY=value lines; `flag` names the option in the error (e.g. --env-file). */
export function readKeyValueFile(file: string, flag: string, what = 'KEY=value lines'): KeyValueLine[] {
  let text: string
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file')
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw usageError(`${flag} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, `give a readable file of ${what}`)
  }
  return parseKeyValueLines(text)
}

export function parseKeyValueLines(text: string): KeyValueLine[] {
  const out: KeyValueLine[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '')
    if (line.trim() === '' || line.trimStart().startsWith('#')) return
    const eq = line.indexOf('=')
    out.push({line: i + 1, key: eq < 0 ? line : line.slice(0, eq), value: eq < 0 ? undefined : line.slice(eq + 1)})
  })
  return out
}
