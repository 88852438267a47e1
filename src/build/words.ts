/**
 * Words of a Dockerfile instruction as Docker's builder reads them (its shell lexer, not
 * a shell): split on unquoted blanks, then each word has its variables expanded and its
 * quotes removed. dockerfile-ast splits arguments on blanks only (`B="x y"` is two of its
 * arguments) and expands nothing, so this part is ours.
 *
 * - 'single quotes' are literal; "double quotes" expand variables, and the escape
 *   character escapes only " $ and itself inside them;
 * - outside quotes the escape character (\ or ` by `# escape=`) takes the next character
 *   literally;
 * - $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word},
 *   ${NAME:?message}, ${NAME?message}; an unset variable expands to "".
 * A value that comes from a variable is never split again (Docker does not either).
 */
import {usageError} from '../errors.js'

export type Vars = ReadonlyMap<string, string>

/** Splits on blanks outside quotes, keeping quotes and escapes in the words. */
export function splitRaw(text: string, escape = '\\'): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  let quote = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      cur += c
      if (c === escape && quote === '"' && i + 1 < text.length) cur += text[++i]
      else if (c === quote) quote = ''
      continue
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
      continue
    }
    inWord = true
    cur += c
    if (c === escape && i + 1 < text.length) cur += text[++i]
    else if (c === '"' || c === "'") quote = c
  }
  if (quote) throw usageError(`unterminated quote in "${text.slice(0, 80)}"`, 'close the quote, or escape it')
  if (inWord) words.push(cur)
  return words
}

/** One word: variables expanded, quotes and escapes removed. */
export function processWord(word: string, vars: Vars, escape = '\\'): string {
  let out = ''
  let i = 0
  const n = word.length
  const dollar = (): string => {
    // at word[i] === '$'
    const next = word[i + 1]
    if (next === '{') {
      const close = findClose(word, i + 2)
      if (close < 0) throw usageError(`missing } in "${word.slice(0, 80)}"`, 'write ${NAME}')
      const inner = word.slice(i + 2, close)
      i = close + 1
      return braced(inner, vars, escape)
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i + 1))
    if (!m) {
      i++
      return '$'
    }
    i += 1 + m[0].length
    return vars.get(m[0]) ?? ''
  }
  while (i < n) {
    const c = word[i]
    if (c === "'") {
      const end = word.indexOf("'", i + 1)
      if (end < 0) throw usageError(`unterminated quote in "${word.slice(0, 80)}"`, 'close the quote')
      out += word.slice(i + 1, end)
      i = end + 1
    } else if (c === '"') {
      i++
      while (i < n && word[i] !== '"') {
        if (word[i] === escape && i + 1 < n && ['"', '$', escape].includes(word[i + 1])) {
          out += word[i + 1]
          i += 2
        } else if (word[i] === '$') out += dollar()
        else out += word[i++]
      }
      if (i >= n) throw usageError(`unterminated quote in "${word.slice(0, 80)}"`, 'close the quote')
      i++
    } else if (c === escape) {
      if (i + 1 < n) out += word[i + 1]
      i += 2
    } else if (c === '$') out += dollar()
    else out += word[i++]
  }
  return out
}

function findClose(s: string, from: number): number {
  let depth = 1
  for (let i = from; i < s.length; i++) {
    if (s[i] === '{') depth++
    else if (s[i] === '}' && --depth === 0) return i
  }
  return -1
}

function braced(inner: string, vars: Vars, escape: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(inner)
  if (!m) throw usageError(`bad substitution \${${inner}}`, 'use ${NAME}, ${NAME:-default} or ${NAME:+alternative}')
  const [, name, op, arg = ''] = m
  const val = vars.get(name)
  const set = val !== undefined
  const nonEmpty = set && val !== ''
  const word = () => processWord(arg, vars, escape)
  switch (op) {
    case undefined:
      return val ?? ''
    case ':-':
      return nonEmpty ? val! : word()
    case '-':
      return set ? val! : word()
    case ':+':
      return nonEmpty ? word() : ''
    case '+':
      return set ? word() : ''
    case ':?':
    case '?':
      if (op === ':?' ? nonEmpty : set) return val!
      throw usageError(`${name}: ${arg ? processWord(arg, vars, escape) : 'is not set'}`, `set it with ARG ${name}=… or --build-arg ${name}=…`)
  }
  return val ?? ''
}

/** Split and process: the words of COPY, ADD, EXPOSE, VOLUME, ARG, … */
export function processWords(text: string, vars: Vars, escape = '\\'): string[] {
  return splitRaw(text, escape).map((w) => processWord(w, vars, escape))
}

/**
 * KEY=VALUE pairs (ENV, LABEL, ARG): each raw word split at its first '='; the legacy
 * form `ENV KEY some value` (no '=' in the first word) is one pair of the first word and
 * the rest.
 */
export function processPairs(text: string, vars: Vars, escape = '\\', what = 'ENV'): Array<[string, string]> {
  const raw = splitRaw(text, escape)
  if (raw.length === 0) throw usageError(`${what} needs KEY=VALUE`, `e.g. ${what} MODE=prod`)
  if (!raw[0].includes('=')) {
    if (raw.length < 2) throw usageError(`${what} ${raw[0]} has no value`, `write ${what} ${raw[0]}=VALUE`)
    const rest = text.trim().slice(raw[0].length).trim()
    return [[processWord(raw[0], vars, escape), processWord(rest, vars, escape)]]
  }
  return raw.map((w) => {
    const eq = w.indexOf('=')
    if (eq <= 0) throw usageError(`${what}: "${w}" is not KEY=VALUE`, `write ${what} KEY=VALUE, quoting values with blanks`)
    return [processWord(w.slice(0, eq), vars, escape), processWord(w.slice(eq + 1), vars, escape)]
  })
}
