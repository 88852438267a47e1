/**
 * Instructions: Markdown handlebars templates rendered with the step's live context
 * (the work directory, sandbox names, results of earlier steps), then turned into
 * terminal text — bold headings, highlighted code — or left as plain Markdown when
 * the output is not a terminal. No HTML escaping: the target is a terminal.
 */
import {existsSync, readdirSync, realpathSync, statSync} from 'node:fs'
import {hostname as osHostname} from 'node:os'
import {basename} from 'node:path'

import Handlebars from 'handlebars'

import {LabError} from '../errors.js'
import type {SandboxResult} from '../sandbox/result.js'

export interface ResultView {
  exitCode: number
  verdict: string
  stdout: string
  stderr: string
  wallMs: number
  peakMemoryBytes: number
  command: string
}

export interface RenderContext {
  lab: {id: string; title: string}
  /** facts about the host, for checks that compare inside with outside */
  host?: HostFacts
  work: string
  step?: {id: string; title: string; number: number}
  results: Record<string, ResultView | undefined>
  /** ports of the services the lab started ({{port "registry"}}) */
  ports?: Record<string, number>
}

export interface HostFacts {
  interfaces: string
  hostname: string
  /** the disk that holds the work directory (/dev/vda), for I/O limits; '' when none (tmpfs, overlay) */
  workDevice: string
}

/**
 * The whole disk a directory lives on: its st_dev names a block device in
 * /sys/dev/block; a partition's parent is the disk, which is what I/O throttling takes.
 */
export function blockDeviceOf(dir: string): string {
  try {
    const dev = statSync(dir, {bigint: true}).dev
    // Linux's dev_t encoding (glibc's gnu_dev_major/gnu_dev_minor)
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn))
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn))
    const sys = `/sys/dev/block/${major}:${minor}`
    if (!existsSync(sys)) return ''
    const real = realpathSync(sys)
    const disk = existsSync(`${real}/partition`) ? basename(realpathSync(`${real}/..`)) : basename(real)
    return existsSync(`/dev/${disk}`) ? `/dev/${disk}` : ''
  } catch {
    return ''
  }
}

/** The host's network interfaces (sorted, one a line), hostname, and the work directory's disk. */
export function hostFacts(work?: string): HostFacts {
  let interfaces = ''
  try {
    interfaces = readdirSync('/sys/class/net').sort().join('\n')
  } catch {
    /* no sysfs: leave it empty */
  }
  return {interfaces, hostname: osHostname(), workDevice: work ? blockDeviceOf(work) : ''}
}

export function resultView(r: SandboxResult, command: string): ResultView {
  return {exitCode: r.exitCode, verdict: r.verdict, stdout: r.stdout ?? '', stderr: r.stderr ?? '', wallMs: Math.round(r.wallMs), peakMemoryBytes: r.peakMemoryBytes, command}
}

/** {{hostPort TEXT}}: the host port of `lab sandbox port NAME PORT`'s line (IP:PORT), e.g. 32768. */
export function hostPortIn(text: unknown): string {
  const m = /^\S*:(\d{1,5})$/m.exec(String(text ?? '').trim())
  if (!m) throw new Error('no host port in the text given to {{hostPort}} (give it the output of lab sandbox port NAME PORT)')
  return m[1]
}

/** {{lastGood TEXT}}: the image a failed `lab build` names as its last good step (its stderr). */
export function lastGoodIn(text: unknown): string {
  const m = /run the last good image to debug: lab sandbox run ([0-9a-f]{12})\b/.exec(String(text ?? ''))
  if (!m) throw new Error('no last good image in the text given to {{lastGood}} (give it a failed build\'s stderr)')
  return m[1]
}

/** {{digest TEXT}}: the first sha256 digest in a result's text (a push's or pull's output). */
export function digestIn(text: unknown): string {
  const m = /sha256:[0-9a-f]{64}/.exec(typeof text === 'string' ? text : '')
  if (!m) throw new Error('no sha256 digest in the text given to {{digest}}')
  return m[0]
}

const compiled = new Map<string, HandlebarsTemplateDelegate>()

/** Renders a lab template with the results produced so far. */
export function renderTemplate(src: string, ctx: RenderContext, where = 'template'): string {
  let t = compiled.get(src)
  if (!t) {
    t = Handlebars.compile(src, {noEscape: true})
    compiled.set(src, t)
  }
  // a result not produced yet (lab show, a failed step) is absent: templates show it
  // only inside {{#if results.NAME}}, which the lab's loader enforces
  const host = ctx.host ?? (src.includes('host.') ? hostFacts(ctx.work) : undefined)
  try {
    const port = (n: unknown) => {
      // a lesson read before the lab started its services (`lab show`) says PORT
      if (ctx.ports === undefined) return 'PORT'
      const p = ctx.ports[String(n)]
      if (p === undefined) throw new Error(`no service "${String(n)}" runs for this step (a step that uses {{port "registry"}} requires: [registry])`)
      return String(p)
    }
    return t({...ctx, host}, {helpers: {name: (n: unknown) => `${ctx.lab.id}-${String(n)}`, port, digest: digestIn, lastGood: lastGoodIn, hostPort: hostPortIn}})
  } catch (e) {
    throw new LabError('lab-template', `${where}: ${(e as Error).message.split('\n')[0]}`, {hint: 'run `lab validate` on the lab'})
  }
}

const ESC = '\u001b['
const style = {
  bold: (s: string) => `${ESC}1m${s}${ESC}22m`,
  dim: (s: string) => `${ESC}2m${s}${ESC}22m`,
  code: (s: string) => `${ESC}36m${s}${ESC}39m`,
  under: (s: string) => `${ESC}4m${s}${ESC}24m`,
}

/** Markdown → terminal text. Code blocks are kept verbatim (indented); inline marks styled. */
export function markdownToTerminal(md: string, color: boolean): string {
  if (!color) return md.trimEnd() + '\n'
  const out: string[] = []
  let inCode = false
  for (const line of md.replace(/\r\n/g, '\n').split('\n')) {
    if (/^\s*```/.test(line)) {
      inCode = !inCode
      continue
    }
    if (inCode) {
      out.push('    ' + style.code(line))
      continue
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line)
    if (h) {
      out.push(h[1].length <= 2 ? style.bold(style.under(h[2])) : style.bold(h[2]))
      continue
    }
    out.push(
      line
        .replace(/`([^`]+)`/g, (_, c: string) => style.code(c))
        .replace(/\*\*([^*]+)\*\*/g, (_, b: string) => style.bold(b))
        .replace(/^(\s*)[-*] /, '$1• '),
    )
  }
  return out.join('\n').trimEnd() + '\n'
}
