/**
 * A Dockerfile as instructions grouped in stages.
 *
 * dockerfile-ast (the parser of the VS Code Docker tools) finds the parser directives
 * (`# syntax=`, `# escape=`), the instructions and their line ranges, heredoc bodies
 * included. What it hands back as an instruction's text falls short of Docker's reading
 * in two ways, so that part is ours: comment lines inside a continued line are kept in
 * its arguments (Docker drops them), and its arguments are split on blanks only, quotes
 * ignored. So each instruction's lines are read again here: continuations joined with
 * their comment lines dropped, flags taken off, heredoc bodies cut out; words.ts then
 * splits and expands them as Docker's lexer does.
 */
import {DockerfileParser} from 'dockerfile-ast'

import {LabError} from '../errors.js'

export interface Heredoc {
  name: string
  body: string
  /** an unquoted delimiter: variables in the body are expanded (COPY) */
  expand: boolean
}

export interface Instruction {
  keyword: string
  /** 1-based line of the Dockerfile where it starts */
  line: number
  /** the instruction as one line (continuations joined), for output and history */
  text: string
  flags: Record<string, string>
  /** the arguments after the flags, raw (quotes and variables still in) */
  args: string
  /** the exec (JSON array) form, when the arguments are one */
  json?: string[]
  heredocs: Heredoc[]
}

export interface Stage {
  index: number
  /** FROM … AS name, lower-cased as Docker compares them */
  name?: string
  from: Instruction
  instructions: Instruction[]
}

export interface Dockerfile {
  escape: string
  /** ARG before the first FROM: usable in FROM lines */
  globalArgs: Instruction[]
  stages: Stage[]
}

export const KEYWORDS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'])
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD'])

export function dockerfileError(line: number, message: string, hint?: string): LabError {
  return new LabError('build-dockerfile', `Dockerfile line ${line}: ${message}`, {hint: hint ?? 'see the Dockerfile reference', exitCode: 1})
}

/** Parses a Dockerfile's text. */
export function parseDockerfile(text: string): Dockerfile {
  if (text.includes('\0')) throw dockerfileError(1, 'the file holds NUL bytes', 'is it a Dockerfile?')
  const df = DockerfileParser.parse(text)
  const escape = df.getEscapeCharacter()
  if (escape !== '\\' && escape !== '`') throw dockerfileError(1, `escape character "${escape}" is not \\ or \``)
  const lines = text.split(/\r?\n/)
  const out: Dockerfile = {escape, globalArgs: [], stages: []}
  for (const ins of df.getInstructions()) {
    const r = ins.getRange()
    const parsed = readInstruction(lines.slice(r.start.line, r.end.line + 1), r.start.line + 1, escape)
    if (!parsed) continue
    if (parsed.keyword === 'FROM') {
      const stage: Stage = {index: out.stages.length, from: parsed, instructions: []}
      const m = /\s+as\s+([^\s]+)\s*$/i.exec(parsed.args)
      if (m) {
        stage.name = m[1].toLowerCase()
        if (!/^[a-z][a-z0-9_.-]*$/.test(stage.name)) throw dockerfileError(parsed.line, `invalid stage name "${m[1]}"`, 'a stage name starts with a letter and holds letters, digits, _ . -')
        if (out.stages.some((s) => s.name === stage.name)) throw dockerfileError(parsed.line, `the stage name "${m[1]}" is used twice`, 'give each stage its own name')
        parsed.args = parsed.args.slice(0, m.index)
      }
      out.stages.push(stage)
    } else if (out.stages.length === 0) {
      if (parsed.keyword !== 'ARG') throw dockerfileError(parsed.line, `${parsed.keyword} before the first FROM`, 'a Dockerfile starts with FROM (only ARG may come before it)')
      out.globalArgs.push(parsed)
    } else out.stages.at(-1)!.instructions.push(parsed)
  }
  if (out.stages.length === 0) throw dockerfileError(1, 'no FROM instruction', 'start the Dockerfile with FROM IMAGE (or FROM scratch)')
  return out
}

/** One instruction from its lines: continuations joined, comments inside dropped, heredocs cut out. */
export function readInstruction(lines: string[], line: number, escape: string): Instruction | null {
  let logical = ''
  let i = 0
  for (; i < lines.length; i++) {
    const l = lines[i].replace(/\r$/, '')
    if (i > 0 && (l.trim() === '' || l.trim().startsWith('#'))) continue
    const t = l.replace(/[ \t]+$/, '')
    if (t.endsWith(escape) && !t.endsWith(escape + escape)) {
      logical += t.slice(0, -1)
      continue
    }
    logical += l
    i++
    break
  }
  logical = logical.trim()
  if (logical === '' || logical.startsWith('#')) return null
  const km = /^([A-Za-z]+)(\s+|$)/.exec(logical)
  if (!km) throw dockerfileError(line, `cannot read "${logical.slice(0, 60)}"`)
  const keyword = km[1].toUpperCase()
  if (!KEYWORDS.has(keyword)) throw dockerfileError(line, `unknown instruction: ${km[1]}`, `instructions are ${[...KEYWORDS].join(', ')}`)
  let rest = logical.slice(km[0].length)
  const flags: Record<string, string> = {}
  for (;;) {
    const fm = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(\s+|$)/.exec(rest)
    if (!fm || keyword === 'ONBUILD') break
    flags[fm[1].toLowerCase()] = fm[2] ?? 'true'
    rest = rest.slice(fm[0].length)
  }
  const heredocs: Heredoc[] = []
  if (HEREDOC_KEYWORDS.has(keyword)) {
    const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g
    for (let m = re.exec(rest); m; m = re.exec(rest)) {
      const strip = m[1] === '-'
      const body: string[] = []
      let closed = false
      for (; i < lines.length; i++) {
        const l = lines[i].replace(/\r$/, '')
        if ((strip ? l.replace(/^\t+/, '') : l) === m[3]) {
          closed = true
          i++
          break
        }
        body.push(strip ? l.replace(/^\t+/, '') : l)
      }
      if (!closed) throw dockerfileError(line, `the heredoc <<${m[3]} is not closed`, `end it with a line holding only ${m[3]}`)
      heredocs.push({name: m[3], body: body.length ? body.join('\n') + '\n' : '', expand: m[2] === ''})
    }
  }
  let json: string[] | undefined
  if (rest.trimStart().startsWith('[')) {
    try {
      const v: unknown = JSON.parse(rest)
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v as string[]
    } catch {
      // not JSON: the shell form, as Docker reads it
    }
  }
  return {keyword, line, text: `${keyword} ${logical.slice(km[0].length)}`.trim(), flags, args: rest.trim(), json, heredocs}
}
