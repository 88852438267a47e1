/**
 * Reading a `lab sandbox run …` command as a POSIX shell would split it, without a
 * shell: quotes, backslashes, line continuations and $PWD/$WORK (the work directory).
 * Anything a shell would do beyond one simple command (pipes, redirections, ;, &&,
 * command substitution, other variables) is refused with the reason, so a student's
 * answer file can never run anything on the host.
 */
import {usageError} from '../errors.js'

export interface SplitOptions {
  /** values for $NAME / ${NAME}; any other variable is an error */
  vars?: Record<string, string>
  where: string
}

export function splitCommand(text: string, opts: SplitOptions): string[] {
  const vars = opts.vars ?? {}
  const words: string[] = []
  let cur = ''
  let inWord = false
  let i = 0
  const fail = (why: string, hint?: string): never => {
    throw usageError(`${opts.where}: ${why}`, hint ?? 'write one `lab sandbox run …` command; quote arguments with \' or "')
  }
  const expand = (): string => {
    // at "$"
    let name: string
    if (text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2)
      if (end < 0) fail('unterminated ${…}')
      name = text.slice(i + 2, end)
      i = end + 1
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))
      if (!m) {
        if (text[i + 1] === '(') fail('command substitution $(…) is not allowed')
        i++
        return '$'
      }
      name = m[0]
      i += 1 + name.length
    }
    if (!(name in vars)) fail(`unknown variable $${name}`, `only ${Object.keys(vars).map((v) => '$' + v).join(' and ')} may be used (the work directory)`)
    return vars[name]
  }
  while (i < text.length) {
    const c = text[i]
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2
      continue
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
      i++
      continue
    }
    if (c === '#' && !inWord) {
      while (i < text.length && text[i] !== '\n') i++
      continue
    }
    inWord = true
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end < 0) fail("unterminated ' quote")
      cur += text.slice(i + 1, end)
      i = end + 1
    } else if (c === '"') {
      i++
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1])) {
          if (text[i + 1] !== '\n') cur += text[i + 1]
          i += 2
        } else if (text[i] === '$') {
          cur += expand()
        } else if (text[i] === '`') {
          fail('command substitution `…` is not allowed')
        } else {
          cur += text[i++]
        }
      }
      if (i >= text.length) fail('unterminated " quote')
      i++
    } else if (c === '\\') {
      cur += text[i + 1] ?? ''
      i += 2
    } else if (c === '$') {
      cur += expand()
    } else if ('|&;<>()`'.includes(c)) {
      fail(`"${c}" is shell syntax lab does not run (one command only: no pipes, redirections, ; or &&)`)
    } else if (c === '~' && cur === '') {
      fail('"~" is not expanded here', 'use $PWD for the work directory')
    } else {
      cur += c
      i++
    }
  }
  if (inWord) words.push(cur)
  return words
}

/** Quotes argv for display, the way a user would type it. */
export function quoteArgs(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

/** Strips the leading `lab sandbox run` (or `./bin/run.js sandbox run`) from an answer. */
export function stripSandboxRun(argv: string[], where: string): string[] {
  const i = argv.findIndex((w) => w === 'sandbox')
  const prog = argv[0] ?? ''
  if (argv.length === 0) throw usageError(`${where}: the file has no command yet`, 'write one `lab sandbox run …` command in it')
  if (i !== 1 || argv[2] !== 'run' || !/(^|\/)(lab|run\.js)$/.test(prog)) {
    throw usageError(`${where}: the answer must be one \`lab sandbox run …\` command (it starts with "${argv.slice(0, 3).join(' ')}")`, 'start the line with lab sandbox run')
  }
  return argv.slice(3)
}
