// A TAP 14 validator for the tests, written from the specification (testanything.org/tap-version-14-specification):
// the version line, one plan, test points numbered in order and as many as planned,
// YAML diagnostics indented two more than their point and fenced by --- and ...,
// subtests announced by "# Subtest" and indented four spaces, then closed by a point.
import {parse as parseYaml} from 'yaml'

// a description may hold an escaped \\# or \\\\; an unescaped # starts a directive
const POINT = /^(not )?ok(?: (\d+))?(?: -)?(?: ((?:[^#\\]|\\.)*?))?(?:\s*#\s*(SKIP|TODO)\b.*)?$/i

/** The problems of a TAP document (empty: valid). */
export function tap14Problems(text) {
  const lines = text.replace(/\n$/, '').split('\n')
  if (lines[0] !== 'TAP version 14') return [`line 1: expected "TAP version 14", got ${JSON.stringify(lines[0])}`]
  const problems = []
  doc(lines.slice(1), 0, 2, problems)
  return problems
}

function doc(lines, indent, lineNo, problems) {
  const pad = ' '.repeat(indent)
  let plan = null
  let count = 0
  let i = 0
  const where = (k) => `line ${lineNo + k}`
  while (i < lines.length) {
    const raw = lines[i]
    if (!raw.startsWith(pad) && raw.trim() !== '') {
      problems.push(`${where(i)}: not indented ${indent}: ${JSON.stringify(raw)}`)
      return
    }
    const line = raw.slice(indent)
    if (line.trim() === '' || /^#(?! Subtest)/.test(line)) {
      i++
      continue
    }
    const p = /^1\.\.(\d+)(\s+#.*)?$/.exec(line)
    if (p) {
      if (plan !== null) problems.push(`${where(i)}: a second plan`)
      plan = Number(p[1])
      i++
      continue
    }
    if (line.startsWith('# Subtest')) {
      // the subtest's lines: indented four more, up to its closing point at this level
      let j = i + 1
      while (j < lines.length && (lines[j].startsWith(pad + '    ') || lines[j].trim() === '')) j++
      doc(lines.slice(i + 1, j), indent + 4, lineNo + i + 1, problems)
      if (j >= lines.length || !POINT.test(lines[j].slice(indent))) problems.push(`${where(j)}: a subtest must be closed by a test point`)
      i = j
      continue
    }
    const m = POINT.exec(line)
    if (!m) {
      problems.push(`${where(i)}: not TAP: ${JSON.stringify(line)}`)
      i++
      continue
    }
    count++
    if (m[2] !== undefined && Number(m[2]) !== count) problems.push(`${where(i)}: test point ${m[2]} out of order (expected ${count})`)
    i++
    if (i < lines.length && lines[i] === `${pad}  ---`) {
      const start = i
      i++
      const body = []
      while (i < lines.length && lines[i] !== `${pad}  ...`) body.push(lines[i++])
      if (i >= lines.length) problems.push(`${where(start)}: YAML block without its closing "..."`)
      else {
        try {
          const y = parseYaml(body.map((l) => l.slice(indent + 2)).join('\n'))
          if (y === null || typeof y !== 'object') problems.push(`${where(start)}: the YAML block is not a mapping`)
        } catch (e) {
          problems.push(`${where(start)}: YAML: ${e.message.split('\n')[0]}`)
        }
        i++
      }
    }
  }
  if (plan === null) problems.push(`indent ${indent}: no plan`)
  else if (plan !== count) problems.push(`indent ${indent}: plan 1..${plan} but ${count} test points`)
}
