/**
 * A gradebook: one row per submission with its total and each test's points, for a
 * spreadsheet. Fields are quoted as RFC 4180 says, and a field that a spreadsheet would
 * run as a formula (=, +, -, @ first, after blanks, in ASCII or full width) is prefixed with ' — submission names and
 * messages come from students.
 */
import type {GradeReport} from '../harness.js'

/**
 * What a spreadsheet would take as the start of a formula: = + - @ (also their full-width
 * forms, which some spreadsheets fold to ASCII), tab and CR, after any leading whitespace.
 */
// eslint-disable-next-line no-control-regex
const FORMULA = /^[\s\u00a0\u2000-\u200b\u3000\ufeff]*[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/

export function csvField(v: string | number): string {
  let s = String(v)
  if (typeof v === 'string' && FORMULA.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csv(report: GradeReport): string {
  const header = ['submission', 'status', 'score', 'max_score', 'percent', ...report.tests.map((t) => t.name), 'upload', 'sha256', 'message']
  const rows = report.submissions.map((s) => [
    s.id,
    s.status,
    s.score,
    s.maxScore,
    s.maxScore ? Math.round((s.score / s.maxScore) * 1000) / 10 : 0,
    ...report.tests.map((t) => s.tests.find((x) => x.name === t.name)?.score ?? 0),
    s.upload ?? '',
    s.sha256 ?? '',
    s.message ?? '',
  ])
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n'
}
