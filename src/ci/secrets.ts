/**
 * Secrets: from the caller's environment (--secret NAME) or a file of NAME=value lines
 * (--secret-file). They reach a step only through its environment (never the command
 * line, never a file) and are masked in every log line, report and annotation: the
 * value itself, each line of a multi-line value, and their base64 forms. Nothing here
 * ever writes a secret to disk.
 */
import {readFileSync, statSync} from 'node:fs'

import {LabError, usageError} from '../errors.js'

export const MASK = '***'
/** Shorter pieces would mask ordinary text everywhere (GitHub masks from 4 characters too). */
const MIN_MASKED = 4
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function loadSecrets(opts: {names?: string[]; files?: string[]; env?: Record<string, string | undefined>}): Record<string, string> {
  const env = opts.env ?? process.env
  const out: Record<string, string> = {}
  for (const f of opts.files ?? []) {
    let text: string
    try {
      if (!statSync(f).isFile()) throw new Error('not a regular file')
      text = readFileSync(f, 'utf8')
    } catch (e) {
      throw usageError(`--secret-file ${f}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'give a readable file of NAME=value lines')
    }
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '')
      if (line.trim() === '' || line.trimStart().startsWith('#')) return
      const eq = line.indexOf('=')
      const name = eq < 0 ? '' : line.slice(0, eq).trim()
      // the line itself is never shown: it holds the secret
      if (!NAME.test(name)) throw usageError(`--secret-file ${f}:${i + 1}: not a NAME=value line`, 'each line is NAME=value or a # comment; names are letters, digits and _')
      out[name] = unquote(line.slice(eq + 1))
    })
  }
  for (const spec of opts.names ?? []) {
    const eq = spec.indexOf('=')
    if (eq >= 0) throw usageError(`--secret ${spec.slice(0, eq)}=…: a value on the command line would be visible to every user (ps) and in the shell history`, 'export it and pass --secret NAME, or use --secret-file')
    if (!NAME.test(spec)) throw usageError(`--secret "${spec}": not a valid name`, 'names are letters, digits and _')
    const v = env[spec]
    if (v === undefined) throw new LabError('ci-secret-missing', `--secret ${spec}: the environment has no ${spec}`, {hint: `export ${spec}=… before running lab ci, or put it in a --secret-file`})
    out[spec] = v
  }
  return out
}

function unquote(v: string): string {
  const t = v.trim()
  if (t.length >= 2 && ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")))) return t.slice(1, -1).replace(/\\n/g, t.startsWith('"') ? '\n' : '\\n')
  return v
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Replaces every form of every secret with ***. */
export class Masker {
  private re: RegExp | null = null
  private readonly all = new Set<string>()
  forms = 0

  constructor(values: Iterable<string>) {
    this.add(...values)
  }

  /** Masks more values from now on (a step's `::add-mask::`). */
  add(...values: string[]): void {
    const forms = this.all
    const add = (s: string) => {
      if (s.length >= MIN_MASKED) forms.add(s)
    }
    for (const v of values) {
      if (!v) continue
      add(v)
      add(v.trim())
      for (const line of v.split(/\r?\n/)) add(line.trim())
      const b64 = Buffer.from(v).toString('base64')
      add(b64)
      add(b64.replace(/=+$/, ''))
      // base64 of the value as `echo` prints it (with a newline), and of a value with one
      add(Buffer.from(v + '\n').toString('base64'))
      add(Buffer.from(v + '\n').toString('base64').replace(/=+$/, ''))
      add(Buffer.from(v.replace(/\n$/, '')).toString('base64').replace(/=+$/, ''))
      // wrapped base64 (base64 breaks its output every 76 characters)
      if (b64.length > 76) for (const chunk of b64.match(/.{1,76}/g) ?? []) add(chunk)
      add(encodeURIComponent(v))
    }
    this.forms = forms.size
    // longest first, so a line of a multi-line secret never leaves part of the whole visible
    const sorted = [...forms].sort((a, b) => b.length - a.length)
    this.re = sorted.length ? new RegExp(sorted.map(escapeRe).join('|'), 'g') : null
  }

  mask(text: string): string {
    return this.re ? text.replace(this.re, MASK) : text
  }

  /** Masks every string inside a JSON-like value. */
  maskDeep<T>(v: T): T {
    if (!this.re) return v
    if (typeof v === 'string') return this.mask(v) as T
    if (Array.isArray(v)) return v.map((x) => this.maskDeep(x)) as T
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.maskDeep(x)])) as T
    return v
  }
}

/**
 * Splits a byte stream into lines (so a secret split across two reads is still seen
 * whole) and masks each; the last partial line comes out on flush().
 */
export class MaskedLines {
  private rest = ''
  constructor(
    private readonly masker: Masker,
    private readonly onLine: (line: string) => void,
  ) {}

  write(chunk: Buffer | string): void {
    const text = this.rest + chunk.toString()
    const lines = text.split('\n')
    this.rest = lines.pop() ?? ''
    // an endless line is cut so memory stays bounded
    if (this.rest.length > 64 * 1024) {
      lines.push(this.rest)
      this.rest = ''
    }
    for (const l of lines) this.onLine(this.masker.mask(l.replace(/\r$/, '')))
  }

  flush(): void {
    if (this.rest) this.onLine(this.masker.mask(this.rest))
    this.rest = ''
  }
}

/**
 * Secrets given with --secret that the pipeline never names: a step sees a secret only
 * through `${{ secrets.NAME }}` (usually mapped with env: NAME: ${{ secrets.NAME }}), so
 * such a secret reaches nothing.
 */
export function unreferencedSecrets(pipelineText: string, names: string[]): string[] {
  // secrets['NAME'], toJSON(secrets) and `secrets: inherit` may reach any secret
  if (/secrets\s*\[|toJSON\s*\(\s*secrets\s*\)|secrets\s*:\s*inherit/i.test(pipelineText)) return []
  const named = new Set([...pipelineText.matchAll(/secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/gi)].map((m) => m[1].toUpperCase()))
  return names.filter((n) => !named.has(n.toUpperCase()))
}
