/**
 * `${{ }}` expressions, the subset of GitHub Actions' language that pipelines use:
 * contexts (matrix, env, secrets, needs, job, steps, github, runner, inputs), property
 * access (a.b, a['b'], a.*), literals, ! == != < <= > >= && ||, parentheses, and the
 * functions success() failure() always() cancelled() contains() startsWith()
 * endsWith() format() join() toJSON() fromJSON(). Evaluation never runs anything.
 */
import {LabError} from '../errors.js'

export type Value = string | number | boolean | null | Value[] | {[k: string]: Value}

export interface ExprContext {
  contexts: Record<string, Value>
  /** status functions: success(), failure(), cancelled() */
  status: {success: boolean; failure: boolean; cancelled: boolean}
}

type Tok = {t: 'num' | 'str' | 'id' | 'op' | 'eof'; v: string; at: number}

function tokenize(src: string, where: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const two = src.slice(i, i + 2)
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      out.push({t: 'op', v: two, at: i})
      i += 2
    } else if ('()[].,!<>*'.includes(c)) {
      out.push({t: 'op', v: c, at: i})
      i++
    } else if (c === "'") {
      let s = ''
      i++
      for (;;) {
        if (i >= src.length) throw exprError(where, src, 'a string is not closed (strings use single quotes)')
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'"
          i += 2
        } else if (src[i] === "'") {
          i++
          break
        } else s += src[i++]
      }
      out.push({t: 'str', v: s, at: i})
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)/.exec(src.slice(i))!
      out.push({t: 'num', v: m[0], at: i})
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!
      out.push({t: 'id', v: m[0], at: i})
      i += m[0].length
    } else {
      throw exprError(where, src, `unexpected "${c}"`)
    }
  }
  out.push({t: 'eof', v: '', at: src.length})
  return out
}

function exprError(where: string, src: string, why: string): LabError {
  return new LabError('ci-expression', `${where}: invalid expression "${src.trim()}": ${why}`, {hint: 'see the GitHub Actions expression syntax; lab supports contexts, operators and the common functions'})
}

type Node =
  | {k: 'lit'; v: Value}
  | {k: 'ctx'; name: string}
  | {k: 'prop'; obj: Node; key: Node | '*'}
  | {k: 'not'; e: Node}
  | {k: 'bin'; op: string; a: Node; b: Node}
  | {k: 'call'; fn: string; args: Node[]}

const FUNCTIONS = new Set(['success', 'failure', 'always', 'cancelled', 'contains', 'startswith', 'endswith', 'format', 'join', 'tojson', 'fromjson', 'hashfiles'])

function parse(src: string, where: string, knownContexts: Set<string>): Node {
  const toks = tokenize(src, where)
  let p = 0
  const peek = () => toks[p]
  const eat = (v?: string) => {
    const t = toks[p]
    if (v !== undefined && t.v !== v) throw exprError(where, src, `expected "${v}" at ${t.at}`)
    p++
    return t
  }
  const primary = (): Node => {
    const t = eat()
    if (t.t === 'num') return {k: 'lit', v: Number(t.v)}
    if (t.t === 'str') return {k: 'lit', v: t.v}
    if (t.t === 'op' && t.v === '(') {
      const e = or()
      eat(')')
      return e
    }
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') return {k: 'lit', v: t.v === 'true'}
      if (t.v === 'null') return {k: 'lit', v: null}
      if (peek().v === '(') {
        const fn = t.v.toLowerCase()
        if (!FUNCTIONS.has(fn)) throw exprError(where, src, `unknown function ${t.v}()`)
        eat('(')
        const args: Node[] = []
        if (peek().v !== ')') {
          args.push(or())
          while (peek().v === ',') {
            eat(',')
            args.push(or())
          }
        }
        eat(')')
        return {k: 'call', fn, args}
      }
      if (!knownContexts.has(t.v)) throw exprError(where, src, `unknown context "${t.v}" (known: ${[...knownContexts].join(', ')})`)
      return {k: 'ctx', name: t.v}
    }
    throw exprError(where, src, t.t === 'eof' ? 'it ends too early' : `unexpected "${t.v}"`)
  }
  const postfix = (): Node => {
    let e = primary()
    for (;;) {
      if (peek().v === '.') {
        eat('.')
        const t = eat()
        if (t.v === '*') e = {k: 'prop', obj: e, key: '*'}
        else if (t.t === 'id') e = {k: 'prop', obj: e, key: {k: 'lit', v: t.v}}
        else throw exprError(where, src, `a property name is expected after "."`)
      } else if (peek().v === '[') {
        eat('[')
        if (peek().v === '*') {
          eat('*')
          e = {k: 'prop', obj: e, key: '*'}
        } else e = {k: 'prop', obj: e, key: or()}
        eat(']')
      } else return e
    }
  }
  const unary = (): Node => {
    if (peek().v === '!') {
      eat('!')
      return {k: 'not', e: unary()}
    }
    return postfix()
  }
  const cmp = (): Node => {
    let a = unary()
    while (['==', '!=', '<', '<=', '>', '>='].includes(peek().v) && peek().t === 'op') {
      const op = eat().v
      a = {k: 'bin', op, a, b: unary()}
    }
    return a
  }
  const and = (): Node => {
    let a = cmp()
    while (peek().v === '&&') {
      eat()
      a = {k: 'bin', op: '&&', a, b: cmp()}
    }
    return a
  }
  const or = (): Node => {
    let a = and()
    while (peek().v === '||') {
      eat()
      a = {k: 'bin', op: '||', a, b: and()}
    }
    return a
  }
  const e = or()
  if (peek().t !== 'eof') throw exprError(where, src, `unexpected "${peek().v}"`)
  return e
}

export function truthy(v: Value | undefined): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (typeof v === 'number' && Number.isNaN(v)) return false
  return true
}

function toNumber(v: Value | undefined): number {
  if (v === null || v === undefined || v === false) return 0
  if (v === true) return 1
  if (typeof v === 'number') return v
  if (typeof v === 'string') return v.trim() === '' ? 0 : Number(v)
  return NaN
}

export function toStr(v: Value | undefined): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** GitHub's loose equality: strings compare case-insensitively, mixed types as numbers. */
function equal(a: Value | undefined, b: Value | undefined): boolean {
  a ??= null
  b ??= null
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase()
  if (typeof a === typeof b && (typeof a !== 'object' || a === null || b === null)) return a === b
  if (typeof a === 'object' && a !== null) return a === b
  return toNumber(a) === toNumber(b)
}

function compare(op: string, a: Value | undefined, b: Value | undefined): boolean {
  const [x, y] = typeof a === 'string' && typeof b === 'string' ? [a.toLowerCase(), b.toLowerCase()] : [toNumber(a), toNumber(b)]
  switch (op) {
    case '<': return x < y
    case '<=': return x <= y
    case '>': return x > y
    default: return x >= y
  }
}

function evaluate(n: Node, ctx: ExprContext): Value {
  switch (n.k) {
    case 'lit': return n.v
    case 'ctx': return ctx.contexts[n.name] ?? null
    case 'not': return !truthy(evaluate(n.e, ctx))
    case 'prop': {
      const obj = evaluate(n.obj, ctx)
      if (n.key === '*') {
        if (Array.isArray(obj)) return obj
        return obj && typeof obj === 'object' ? Object.values(obj) : []
      }
      const key = evaluate(n.key, ctx)
      if (Array.isArray(obj)) {
        // a filtered array: the property of every element
        if (typeof key === 'string' && obj.every((x) => x && typeof x === 'object' && !Array.isArray(x))) return obj.map((x) => (x as Record<string, Value>)[key] ?? null)
        return obj[toNumber(key)] ?? null
      }
      if (obj && typeof obj === 'object') {
        const k = toStr(key)
        const hit = Object.keys(obj).find((x) => x.toLowerCase() === k.toLowerCase())
        return hit === undefined ? null : obj[hit]
      }
      return null
    }
    case 'bin': {
      if (n.op === '&&') {
        const a = evaluate(n.a, ctx)
        return truthy(a) ? evaluate(n.b, ctx) : a
      }
      if (n.op === '||') {
        const a = evaluate(n.a, ctx)
        return truthy(a) ? a : evaluate(n.b, ctx)
      }
      const a = evaluate(n.a, ctx)
      const b = evaluate(n.b, ctx)
      if (n.op === '==') return equal(a, b)
      if (n.op === '!=') return !equal(a, b)
      return compare(n.op, a, b)
    }
    case 'call': {
      const args = n.args.map((a) => evaluate(a, ctx))
      switch (n.fn) {
        case 'success': return ctx.status.success
        case 'failure': return ctx.status.failure
        case 'cancelled': return ctx.status.cancelled
        case 'always': return true
        case 'contains': {
          const [hay, needle] = args
          if (Array.isArray(hay)) return hay.some((x) => equal(x, needle))
          return toStr(hay).toLowerCase().includes(toStr(needle).toLowerCase())
        }
        case 'startswith': return toStr(args[0]).toLowerCase().startsWith(toStr(args[1]).toLowerCase())
        case 'endswith': return toStr(args[0]).toLowerCase().endsWith(toStr(args[1]).toLowerCase())
        case 'format': return format(toStr(args[0]), args.slice(1))
        case 'join': return Array.isArray(args[0]) ? args[0].map(toStr).join(args.length > 1 ? toStr(args[1]) : ',') : toStr(args[0])
        case 'tojson': return JSON.stringify(args[0] ?? null, null, 2)
        case 'fromjson': {
          // GitHub fails the expression on text that is not JSON
          const text = toStr(args[0])
          try {
            return JSON.parse(text) as Value
          } catch (e) {
            throw new LabError('ci-expression', `fromJSON: the text is not JSON (${(e as Error).message}): ${text.length > 80 ? text.slice(0, 77) + '...' : text}`, {hint: 'check the output or variable it reads'})
          }
        }
        case 'hashfiles': return (ctx.contexts['__hashFiles'] as unknown as ((p: string[]) => string) | undefined)?.(args.map(toStr)) ?? ''
      }
    }
  }
  return null
}

/** GitHub's format(): {N} is argument N, {{ and }} are literal braces; anything else is an error. */
function format(fmt: string, args: Value[]): string {
  let out = ''
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]
    if (c === '{' && fmt[i + 1] === '{') {
      out += '{'
      i++
    } else if (c === '}' && fmt[i + 1] === '}') {
      out += '}'
      i++
    } else if (c === '{') {
      const m = /^\{(\d+)\}/.exec(fmt.slice(i))
      if (!m) throw new LabError('ci-expression', `format('${fmt}'): "{" must start {N} or be doubled ({{)`, {hint: 'write {{ and }} for literal braces'})
      const n = Number(m[1])
      if (n >= args.length) throw new LabError('ci-expression', `format('${fmt}'): {${n}} has no argument (${args.length} given)`, {hint: 'give an argument for every {N}'})
      out += toStr(args[n])
      i += m[0].length - 1
    } else if (c === '}') throw new LabError('ci-expression', `format('${fmt}'): a lone "}" must be doubled (}})`, {hint: 'write {{ and }} for literal braces'})
    else out += c
  }
  return out
}

export const ALL_CONTEXTS = ['matrix', 'env', 'secrets', 'needs', 'job', 'jobs', 'steps', 'github', 'runner', 'inputs', 'vars', 'strategy']

/** The contexts and functions (lower case) an expression names: what context availability is checked against. */
export function references(src: string, where: string): {contexts: Set<string>; functions: Set<string>} {
  const out = {contexts: new Set<string>(), functions: new Set<string>()}
  const walk = (n: Node): void => {
    if (n.k === 'ctx') out.contexts.add(n.name)
    else if (n.k === 'prop') {
      walk(n.obj)
      if (n.key !== '*') walk(n.key)
    } else if (n.k === 'not') walk(n.e)
    else if (n.k === 'bin') {
      walk(n.a)
      walk(n.b)
    } else if (n.k === 'call') {
      out.functions.add(n.fn)
      n.args.forEach(walk)
    }
  }
  walk(parse(src, where, new Set(ALL_CONTEXTS)))
  return out
}

/** Parses once (errors name `where`); the result evaluates against a context. */
export function compile(src: string, where: string, contexts: string[] = ALL_CONTEXTS): (ctx: ExprContext) => Value {
  const node = parse(src, where, new Set(contexts))
  return (ctx) => evaluate(node, ctx)
}

/**
 * The ${{ }} of a string, found as GitHub's parser finds them: a "}}" inside a quoted
 * string does not end the expression. An unclosed one ends the list with end = -1.
 */
export function templateExpressions(s: string): Array<{start: number; end: number; expr: string}> {
  const out: Array<{start: number; end: number; expr: string}> = []
  let i = s.indexOf('${{')
  while (i >= 0) {
    let j = i + 3
    let quoted = false
    for (; j < s.length; j++) {
      if (s[j] === "'") quoted = !quoted
      else if (!quoted && s[j] === '}' && s[j + 1] === '}') break
    }
    if (j >= s.length) {
      out.push({start: i, end: -1, expr: s.slice(i + 3)})
      break
    }
    out.push({start: i, end: j + 2, expr: s.slice(i + 3, j)})
    i = s.indexOf('${{', j + 2)
  }
  return out
}

/** s with each ${{ expr }} replaced by fn(expr). */
export function replaceExpressions(s: string, fn: (expr: string) => string): string {
  let out = ''
  let at = 0
  for (const e of templateExpressions(s)) {
    if (e.end < 0) break
    out += s.slice(at, e.start) + fn(e.expr)
    at = e.end
  }
  return out + s.slice(at)
}

export function hasExpression(s: string): boolean {
  return s.includes('${{')
}

/** Checks the syntax of every ${{ }} in a string (load time). */
export function checkTemplate(s: string, where: string, contexts?: string[]): void {
  for (const e of templateExpressions(s)) {
    if (e.end < 0) throw exprError(where, s, 'a "${{" is not closed with "}}"')
    compile(e.expr, where, contexts)
  }
}

/** Replaces every ${{ expr }} in a string with its value. */
export function interpolate(s: string, ctx: ExprContext, where: string): string {
  if (!hasExpression(s)) return s
  return replaceExpressions(s, (e) => toStr(compile(e, where)(ctx)))
}

/** An `if:` condition: with or without ${{ }}; a condition that names no status function means success() && it. */
export function evalCondition(cond: string | boolean | undefined, ctx: ExprContext, where: string): boolean {
  if (cond === undefined) return ctx.status.success
  if (typeof cond === 'boolean') return cond && ctx.status.success
  let src = cond.trim()
  const whole = templateExpressions(src)
  if (whole.length === 1 && whole[0].start === 0 && whole[0].end === src.length) src = whole[0].expr
  else if (hasExpression(src)) src = `'${interpolate(src, ctx, where).replace(/'/g, "''")}'`
  const usesStatus = /\b(success|failure|always|cancelled)\s*\(/i.test(src)
  const v = truthy(compile(src, where)(ctx))
  return usesStatus ? v : v && ctx.status.success
}
