/**
 * Reading what a framework run reported: the JSON lines of lab's own runners (pytest,
 * unittest, node:test), TAP 13/14 from a program's standard output, and a JUnit XML
 * file a command wrote. All of it is text a submission could have shaped: it is parsed
 * defensively (bounded, no entity expansion, nothing executed) and only ever read as
 * data about test names the spec already knows.
 */
export type FrameworkStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'timeout'

export interface FrameworkTest {
  name: string
  status: FrameworkStatus
  message: string | null
  output: string
  ms: number
  code: string | null
  task: number | null
}

export interface FrameworkRun {
  /** tests in the order the framework collected them (when it said so) */
  collected: string[] | null
  /** the test that had started but not ended when the run stopped */
  running: string | null
  results: FrameworkTest[]
  /** the submission could not be loaded: a syntax or import error, a bail out */
  loadError: string | null
  /** the framework stopped the run itself (a file-level timeout) without saying which test ran */
  stopped?: string
}

const str = (v: unknown, n = 1 << 20): string | null => (typeof v === 'string' ? v.slice(0, n) : null)
const STATUSES = new Set(['passed', 'failed', 'error', 'skipped', 'timeout'])

/** The runners' JSON lines (see runners.ts); a line that does not parse is ignored. */
export function parseJsonLines(text: string): FrameworkRun {
  const run: FrameworkRun = {collected: null, running: null, results: [], loadError: null}
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    let r: Record<string, unknown>
    try {
      r = JSON.parse(line)
    } catch {
      continue
    }
    if (!r || typeof r !== 'object') continue
    if (r.event === 'collected' && Array.isArray(r.tests)) run.collected = r.tests.filter((x): x is string => typeof x === 'string')
    else if (r.event === 'start' && typeof r.name === 'string') run.running = r.name
    else if (r.event === 'stopped') run.stopped = str(r.message) ?? 'stopped'
    else if (r.event === 'error') run.loadError = [run.loadError, str(r.message) ?? 'the tests could not be loaded'].filter(Boolean).join('\n')
    else if (r.event === 'result' && typeof r.name === 'string' && STATUSES.has(r.status as string)) {
      if (run.running === r.name) run.running = null
      run.results.push({
        name: r.name,
        status: r.status as FrameworkStatus,
        message: str(r.message),
        output: str(r.output) ?? '',
        ms: typeof r.ms === 'number' && r.ms >= 0 ? Math.round(r.ms) : 0,
        code: str(r.code, 65536),
        task: Number.isInteger(r.task) ? (r.task as number) : null,
      })
    }
  }
  return run
}

/**
 * TAP (13 and 14): test points with their description as the name, a YAML block's
 * `message` as the failure, lines that are not TAP as the output of the next point,
 * `# SKIP`/`# TODO` directives, and "Bail out!" as a load error. Subtests (indented)
 * are not scored separately: their summary point is.
 */
export function parseTap(text: string): FrameworkRun {
  const run: FrameworkRun = {collected: null, running: null, results: [], loadError: null}
  let output: string[] = []
  let yaml: string[] | null = null
  let last: FrameworkTest | null = null
  for (const line of text.split('\n')) {
    if (yaml) {
      if (/^\s*\.\.\.\s*$/.test(line)) {
        const m = /^\s*message:\s*(.*)$/m.exec(yaml.join('\n'))
        if (last && m) {
          let msg = m[1].trim()
          try {
            if (msg.startsWith('"')) msg = JSON.parse(msg)
            else if (msg.startsWith("'")) msg = msg.slice(1, -1).replace(/''/g, "'")
          } catch {
            /* kept as written */
          }
          last.message = msg
        }
        yaml = null
      } else yaml.push(line)
      continue
    }
    if (/^\s+---\s*$/.test(line) && last) {
      yaml = []
      continue
    }
    const bail = /^Bail out!\s*(.*)$/.exec(line)
    if (bail) {
      run.loadError = [bail[1] || 'the test program bailed out', ...output].join('\n')
      break
    }
    const m = /^(not )?ok\b(?:\s+(\d+))?(?:\s*-?\s*)(.*)$/.exec(line)
    if (m) {
      let desc = m[3]
      let directive: string | null = null
      const d = /\s#\s*(SKIP|TODO)\b(.*)$/i.exec(desc)
      if (d) {
        directive = d[1].toUpperCase()
        desc = desc.slice(0, d.index)
      }
      desc = desc.replace(/\\#/g, '#').replace(/\\\\/g, '\\').trim()
      const name = desc || `test ${m[2] ?? run.results.length + 1}`
      const passed = !m[1] || directive === 'TODO'
      last = {name, status: directive === 'SKIP' ? 'skipped' : passed ? 'passed' : 'failed', message: passed ? null : null, output: output.join('\n'), ms: 0, code: null, task: null}
      run.results.push(last)
      output = []
      continue
    }
    if (/^(TAP version|1\.\.\d+|\s*#)/.test(line) || /^\s+/.test(line)) continue
    if (line !== '') output.push(line)
  }
  for (const t of run.results) if (t.status === 'failed' && !t.message) t.message = 'not ok'
  return run
}

/** Bounds of a JUnit report: its size, its test cases, and the part of one case that is read. */
const MAX_XML = 8 * 1024 * 1024
const MAX_CASES = 10_000
const MAX_CASE = 64 * 1024

const ENTITIES: Record<string, string> = {lt: '<', gt: '>', amp: '&', quot: '"', apos: "'"}
function unescapeXml(s: string): string {
  return s.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1').replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    if (e[0] !== '#') return ENTITIES[e]
    const n = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
    return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : ''
  })
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) out[m[1]] = unescapeXml(m[3] ?? m[4] ?? '')
  return out
}

/**
 * JUnit XML as test tools write it (Surefire, pytest --junitxml, go-junit-report, jest-junit):
 * every <testcase> with <failure>, <error> or <skipped>, and its <system-out>/<system-err>.
 * A DOCTYPE (and with it any entity definition) is refused.
 */
export function parseJunitXml(xml: string): FrameworkRun {
  const run: FrameworkRun = {collected: null, running: null, results: [], loadError: null}
  if (/<!DOCTYPE/i.test(xml)) {
    run.loadError = 'the JUnit report has a DOCTYPE (refused: entity definitions are not read)'
    return run
  }
  // one pass with a cursor (no pattern that could scan the rest of the file from every tag),
  // and each test's own part bounded: the file is the submission's to shape
  const text = xml.slice(0, MAX_XML)
  let at = 0
  while (run.results.length < MAX_CASES) {
    const start = text.indexOf('<testcase', at)
    if (start < 0) break
    const tagEnd = text.indexOf('>', start)
    if (tagEnd < 0) break
    const selfClosing = text[tagEnd - 1] === '/'
    const a = attrs(text.slice(start + '<testcase'.length, selfClosing ? tagEnd - 1 : tagEnd))
    let body = ''
    if (selfClosing) at = tagEnd + 1
    else {
      const close = text.indexOf('</testcase>', tagEnd)
      if (close < 0) break
      body = text.slice(tagEnd + 1, Math.min(close, tagEnd + 1 + MAX_CASE))
      at = close + '</testcase>'.length
    }
    const child = /<(failure|error|skipped)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/.exec(body)
    const out = [...body.matchAll(/<system-(?:out|err)>([\s\S]*?)<\/system-(?:out|err)>/g)].map((x) => unescapeXml(x[1])).join('')
    let status: FrameworkStatus = 'passed'
    let message: string | null = null
    if (child) {
      const ca = attrs(child[2])
      status = child[1] === 'skipped' ? 'skipped' : child[1] === 'error' ? 'error' : 'failed'
      const inner = unescapeXml(child[4] ?? '').trim()
      message = [ca.message, inner && inner !== ca.message ? inner : ''].filter(Boolean).join('\n') || child[1]
    }
    const secs = Number(a.time)
    run.results.push({name: a.name ?? 'unnamed', status, message, output: out, ms: Number.isFinite(secs) && secs >= 0 ? Math.round(secs * 1000) : 0, code: null, task: null})
  }
  return run
}
