/** Every report format of `lab grade`, by name, and the file each is written to with --out. */
import type {GradeReport} from '../harness.js'
import {csv} from './csv.js'
import {exercism, exercismResult} from './exercism.js'
import {gradescope, gradescopeResult} from './gradescope.js'
import {html} from './html.js'
import {junit} from './junit.js'
import {tap} from './tap.js'

export const FORMATS = ['json', 'gradescope', 'exercism', 'junit', 'tap', 'csv', 'html'] as const
export type Format = (typeof FORMATS)[number]

export function render(format: Format, report: GradeReport): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n'
    case 'gradescope':
      return gradescope(report)
    case 'exercism':
      return exercism(report)
    case 'junit':
      return junit(report)
    case 'tap':
      return tap(report)
    case 'csv':
      return csv(report)
    case 'html':
      return html(report)
  }
}

/**
 * --out DIR: report.json, junit.xml, results.tap, gradebook.csv, report.html, and the
 * per-submission formats as gradescope/<id>/results.json and exercism/<id>/results.json.
 */
export function reportFiles(report: GradeReport): Array<{path: string; content: string}> {
  const files = [
    {path: 'report.json', content: render('json', report)},
    {path: 'junit.xml', content: junit(report)},
    {path: 'results.tap', content: tap(report)},
    {path: 'gradebook.csv', content: csv(report)},
    {path: 'report.html', content: html(report)},
  ]
  for (const s of report.submissions) {
    files.push({path: `gradescope/${s.id}/results.json`, content: JSON.stringify(gradescopeResult(report, s), null, 2) + '\n'})
    files.push({path: `exercism/${s.id}/results.json`, content: JSON.stringify(exercismResult(report, s), null, 2) + '\n'})
  }
  return files
}
