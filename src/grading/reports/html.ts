/**
 * The teacher's report: one self-contained HTML file (styles inline, no scripts, no
 * external resources; a Content-Security-Policy forbids any) rendered with handlebars,
 * which escapes everything a submission produced. Every test is shown, hidden ones
 * marked, with each check, the output kept and the hashes the grading rests on.
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
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d232b}
h1{font-size:1.6rem;margin-bottom:.2rem} .meta{color:#5a6470;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:1rem 0} th,td{border-bottom:1px solid #d9dee4;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7} td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17702e} .failed,.error{color:#b3261e} .partial{color:#8a5a00} .rejected,.build-failed{color:#b3261e}
.bar{display:inline-block;height:.6rem;background:#d9dee4;width:6rem;vertical-align:middle;border-radius:3px;overflow:hidden}
.bar>span{display:block;height:100%;background:#2f7d4a}
details{border:1px solid #d9dee4;border-radius:6px;margin:.6rem 0;padding:.4rem .8rem} summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:20rem;white-space:pre-wrap;word-break:break-all}
.tag{font-size:.75rem;border:1px solid #aab3bd;border-radius:3px;padding:0 .3rem;color:#5a6470}
code{font-size:.85rem}
</style>
</head>
<body>
<h1>{{title}}</h1>
<p class="meta">Graded {{gradedAt}} in {{seconds wallMs}} s · {{summary.submissions}} submissions · mean {{summary.meanScore}} of {{summary.maxScore}} points{{#if summary.reruns}} · {{summary.reruns}} runs repeated near their time limit{{/if}}</p>

<table id="gradebook">
<thead><tr><th>Submission</th><th>Status</th><th>Score</th><th></th>{{#each tests}}<th title="{{command}}">{{name}}{{#unless (eq visibility "visible")}} <span class="tag">{{visibility}}</span>{{/unless}}<br><small>{{points}} pt</small></th>{{/each}}</tr></thead>
<tbody>
{{#each submissions}}
<tr data-submission="{{id}}" data-score="{{score}}">
<td><a href="#sub-{{@index}}">{{id}}</a></td><td class="{{status}}">{{status}}</td>
<td class="num">{{score}} / {{maxScore}}</td><td><span class="bar"><span style="width:{{percent score maxScore}}%"></span></span></td>
{{#each tests}}<td class="num {{status}}" data-test="{{name}}">{{score}}</td>{{/each}}
</tr>
{{/each}}
</tbody>
</table>

{{#each submissions}}
<details id="sub-{{@index}}" class="submission" {{#unless (eq status "graded")}}open{{/unless}}>
<summary>{{id}} — <span class="{{status}}">{{score}} / {{maxScore}}</span>{{#if message}} · {{message}}{{/if}}</summary>
<p class="meta">{{path}} · {{kind}} · {{files}} files, {{bytes}} bytes{{#if sha256}} · sha256 <code>{{sha256}}</code>{{/if}}</p>
{{#if build}}<p>Build: <span class="{{#if (eq build.verdict "ok")}}passed{{else}}failed{{/if}}">{{build.verdict}}</span> (exit {{build.exitCode}}, {{build.wallMs}} ms)</p>
{{#if build.stderr}}<pre>{{build.stderr}}</pre>{{/if}}{{/if}}
<table>
<thead><tr><th>Test</th><th>Result</th><th>Points</th><th>Why</th><th>Time</th><th>Memory</th></tr></thead>
<tbody>
{{#each tests}}
<tr class="test" data-test="{{name}}" data-status="{{status}}">
<td>{{name}}{{#unless (eq visibility "visible")}} <span class="tag">{{visibility}}</span>{{/unless}}</td>
<td class="{{status}}">{{status}}<br><small>{{verdict}}</small></td>
<td class="num">{{score}} / {{maxScore}}</td>
<td>{{message}}{{#if rerun}}<br><small>{{rerun.reason}}</small>{{/if}}
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
    compiled = hb.compile(TEMPLATE, {strict: false, noEscape: false})
  }
  return compiled(report)
}
