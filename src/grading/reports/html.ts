/**
 * The teacher's report: one self-contained HTML file (styles inline, no scripts, no
 * external resources; a Content-Security-Policy forbids any) rendered with handlebars,
 * which escapes everything a submission produced. Every test is shown, hidden ones
 * marked, with each check, the output kept and the hashes the grading rests on. The
 * gradebook fits a laptop screen for 30 tests × 200 students: numbered test columns (the
 * legend names them), sticky headers and first column, its own scrolling box; a
 * submission the tests could not load shows E, not 0, and a badge of its own.
 */
import Handlebars from 'handlebars'

import type {GradeReport} from '../harness.js'

const TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} — grading report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1rem;color:#1d232b}
h1{font-size:1.5rem;margin:.2rem 0} .meta{color:#5a6470;font-size:.9rem;margin:.2rem 0}
table{border-collapse:collapse;width:100%;margin:.6rem 0} th,td{border-bottom:1px solid #d9dee4;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7} td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17702e} .failed{color:#b3261e} .partial{color:#8a5a00}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.badge.graded{background:#e3f1e7;color:#17702e} .badge.rejected,.badge.build-failed{background:#fbe4e2;color:#8c1d17}
.badge.load-failed{background:#efe3fb;color:#5b1f99;border:1px dashed #5b1f99} .badge.error{background:#1d232b;color:#fff}
.bar{display:inline-block;height:.55rem;background:#d9dee4;width:3rem;vertical-align:middle;border-radius:3px;overflow:hidden}
.bar>span{display:block;height:100%;background:#2f7d4a}
/* the gradebook: its own scrolling box with sticky headers, one narrow numbered column per test */
.gridbox{overflow:auto;max-height:calc(100vh - 9rem);border:1px solid #d9dee4;border-radius:6px}
#gradebook{margin:0;width:auto;min-width:100%;font-size:13px} #gradebook td,#gradebook th{white-space:nowrap;padding:.2rem .35rem}
#gradebook thead th{position:sticky;top:0;z-index:2;text-align:center;padding:.25rem .2rem}
#gradebook th.sub,#gradebook td.sub{position:sticky;left:0;z-index:1;background:#fff;max-width:10rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#gradebook thead th.sub{z-index:3;background:#f3f5f7}
#gradebook td.cell{width:1.5rem;min-width:1.5rem;max-width:1.5rem;text-align:center;padding:.2rem 0;font-variant-numeric:tabular-nums;border-left:1px solid #eef0f3}
td.cell.passed{background:#e3f1e7} td.cell.partial{background:#fbf0d9} td.cell.failed{background:#fbe4e2}
td.cell.error{background:#efe3fb;color:#5b1f99;font-weight:700}
#gradebook th.t{width:1.5rem;min-width:1.5rem;padding:.2rem 0;font-weight:600}
.legend{columns:16rem auto;column-gap:1.5rem;font-size:.82rem;color:#3a434d;margin:.5rem 0;padding-left:2rem}
.legend li{break-inside:avoid}
details{border:1px solid #d9dee4;border-radius:6px;margin:.5rem 0;padding:.3rem .7rem} summary{cursor:pointer;font-weight:600}
details.submission table{table-layout:fixed} details.submission td{overflow-wrap:anywhere}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:20rem;white-space:pre-wrap;word-break:break-all;margin:.3rem 0}
.tag{font-size:.72rem;border:1px solid #aab3bd;border-radius:3px;padding:0 .25rem;color:#5a6470}
code{font-size:.85rem}
</style>
</head>
<body>
<h1>{{title}}</h1>
<p class="meta">Graded {{gradedAt}} in {{seconds wallMs}} s · {{summary.submissions}} submissions · mean {{summary.meanScore}} of {{summary.maxScore}} points{{#if summary.reruns}} · {{summary.reruns}} runs repeated near their time limit{{/if}}</p>

<div class="gridbox">
<table id="gradebook">
<thead><tr><th class="sub">Submission</th><th>Status</th><th>Score</th><th></th>{{#each tests}}<th class="t" title="{{name}} ({{points}} pt{{#unless (eq visibility "visible")}}, {{visibility}}{{/unless}})">{{inc @index}}</th>{{/each}}</tr></thead>
<tbody>
{{#each submissions}}
<tr data-submission="{{id}}" data-score="{{score}}" data-status="{{status}}">
<td class="sub" title="{{upload}}"><a href="#sub-{{@index}}">{{id}}</a></td><td><span class="badge {{status}}">{{statusLabel status}}</span></td>
<td class="num">{{score}}&thinsp;/&thinsp;{{maxScore}}</td><td><span class="bar"><span style="width:{{percent score maxScore}}%"></span></span></td>
{{#each tests}}<td class="cell {{status}}" data-test="{{name}}" title="{{name}}: {{status}}">{{#if (eq status "error")}}E{{else}}{{score}}{{/if}}</td>{{/each}}
</tr>
{{/each}}
</tbody>
</table>
</div>
<ol class="legend" id="tests">{{#each tests}}<li>{{name}} <small>({{points}} pt)</small>{{#unless (eq visibility "visible")}} <span class="tag">{{visibility}}</span>{{/unless}}</li>{{/each}}</ol>
<p class="meta"><span class="badge load-failed">load error</span> the tests could not load the submission (syntax or import error): every test is E, not 0 · <span class="badge build-failed">build failed</span> · <span class="badge rejected">rejected</span> the upload was refused · <span class="badge error">grading error</span> lab failed, not the student</p>

{{#each submissions}}
<details id="sub-{{@index}}" class="submission" {{#unless (eq status "graded")}}open{{/unless}}>
<summary>{{id}} — <span class="badge {{status}}">{{statusLabel status}}</span> {{score}} / {{maxScore}}{{#if message}} · {{firstLine message}}{{/if}}</summary>
{{#if message}}{{#unless (eq status "graded")}}<pre class="why">{{message}}</pre>{{/unless}}{{/if}}
<p class="meta">upload <code>{{upload}}</code>{{#if unwrapped}} (its folder {{unwrapped}}/ unwrapped){{/if}} · {{kind}} · {{files}} files, {{bytes}} bytes{{#if sha256}} · sha256 <code>{{sha256}}</code>{{/if}}</p>
{{#if build}}<p>Build: <span class="{{#if (eq build.verdict "ok")}}passed{{else}}failed{{/if}}">{{build.verdict}}</span> (exit {{build.exitCode}}, {{build.wallMs}} ms)</p>
{{#if build.stderr}}<pre>{{build.stderr}}</pre>{{/if}}{{/if}}
<table>
<colgroup><col style="width:18%"><col style="width:8%"><col style="width:7%"><col><col style="width:7%"><col style="width:7%"></colgroup>
<thead><tr><th>Test</th><th>Result</th><th>Points</th><th>Why</th><th>Time</th><th>Memory</th></tr></thead>
<tbody>
{{#each tests}}
<tr class="test" data-test="{{name}}" data-status="{{status}}">
<td>{{name}}{{#unless (eq visibility "visible")}} <span class="tag">{{visibility}}</span>{{/unless}}</td>
<td class="{{status}}">{{status}}<br><small>{{verdict}}</small></td>
<td class="num">{{score}} / {{maxScore}}</td>
<td><pre>{{message}}</pre>{{#if rerun}}<br><small>{{rerun.reason}}</small>{{/if}}
{{#if checks.length}}<ul>{{#each checks}}<li class="{{#if passed}}passed{{else}}failed{{/if}}">{{name}}: {{message}}</li>{{/each}}</ul>{{/if}}
{{#if stdout}}<details><summary>output</summary><pre>{{stdout}}</pre></details>{{/if}}
{{#if stderr}}<details><summary>errors</summary><pre>{{stderr}}</pre></details>{{/if}}
</td>
<td class="num">{{wallMs}} ms</td><td class="num">{{mib peakMemoryBytes}} MiB</td>
</tr>
{{/each}}
</tbody>
</table>
</details>
{{/each}}

<h2>Reproducibility</h2>
<p class="meta">Spec <code>{{spec.file}}</code> sha256 <code>{{spec.sha256}}</code></p>
<table><thead><tr><th>Spec file</th><th>sha256</th></tr></thead><tbody>
{{#each spec.files}}<tr><td>{{@key}}</td><td><code>{{this}}</code></td></tr>{{/each}}
</tbody></table>
<pre id="engine">{{json engine}}</pre>
</body>
</html>
`

let compiled: HandlebarsTemplateDelegate | null = null

export function html(report: GradeReport): string {
  if (!compiled) {
    const hb = Handlebars.create()
    hb.registerHelper('eq', (a: unknown, b: unknown) => a === b)
    hb.registerHelper('seconds', (ms: number) => (ms / 1000).toFixed(1))
    hb.registerHelper('percent', (a: number, b: number) => (b ? Math.round((a / b) * 100) : 0))
    hb.registerHelper('mib', (b: number) => (b / 1048576).toFixed(1))
    hb.registerHelper('json', (v: unknown) => JSON.stringify(v, null, 2))
    hb.registerHelper('inc', (i: number) => i + 1)
    hb.registerHelper('firstLine', (m: string) => String(m).split('\n')[0].slice(0, 200))
    hb.registerHelper('statusLabel', (st: string) => ({graded: 'graded', rejected: 'rejected', 'build-failed': 'build failed', 'load-failed': 'load error', error: 'grading error'})[st] ?? st)
    compiled = hb.compile(TEMPLATE, {strict: false, noEscape: false})
  }
  return compiled(report)
}
