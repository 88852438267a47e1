// The lab format: malformed labs give one-line errors naming the file, the line and the
// JSON path; unsafe fixtures are refused; `lab new` scaffolds a lab that validates.
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT} from '../helpers.mjs'
import {loadLab, LabFormatError} from '../../dist/labs/load.js'
import {splitCommand, stripSandboxRun} from '../../dist/labs/shell.js'

const t = suite('labs: format and validation')
const base = mkdtempSync(join(tmpdir(), 'labfmt-'))

const GOOD = `id: demo
title: Demo
chapter: "1"
source: test
estimatedMinutes: 5
steps:
  - id: one
    title: One
    read: steps/one.md
    actions:
      - run: -- echo hi
        as: hi
    checks:
      - name: says hi
        of: hi
        stdout: {equals: hi}
`

function makeLab(name, yaml, files = {}) {
  const dir = join(base, name, 'demo')
  mkdirSync(join(dir, 'steps'), {recursive: true})
  writeFileSync(join(dir, 'lab.yaml'), yaml)
  writeFileSync(join(dir, 'steps', 'one.md'), 'Say {{#if results.hi}}{{results.hi.stdout}}{{else}}hi{{/if}} in {{work}}.\n')
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), {recursive: true})
    writeFileSync(join(dir, rel), text)
  }
  return dir
}

async function problems(dir) {
  try {
    await loadLab(dir)
  } catch (e) {
    assert.instance(e, LabFormatError, String(e))
    return e.problems
  }
  assert.unreachable('the lab loaded')
}

t.after(() => rmSync(base, {recursive: true, force: true}))

t('a well-formed lab loads, with its steps and templates', async () => {
  const l = await loadLab(makeLab('good', GOOD))
  assert.is(l.id, 'demo')
  assert.is(l.steps.length, 1)
  assert.is(l.steps[0].unavailable, null)
})

t('schema error: unknown key → file, line and JSON path', async () => {
  const p = await problems(makeLab('unknown-key', GOOD.replace('    title: One\n', '    title: One\n    colour: red\n')))
  assert.match(p[0], /lab\.yaml:7: \/steps\/0: unknown key `colour`$/)
  // a misspelt key names the key meant, not the required one it leaves missing
  const m = await problems(makeLab('misspelt', GOOD.replace('    actions:', '    actoins:').replace('        stdout: {equals: hi}', '        stdot: {equals: hi}')))
  assert.ok(m.includes('lab.yaml:8: /steps/0: unknown key `actoins` — did you mean `actions`?') || m.some((x) => /\/steps\/0: unknown key `actoins` — did you mean `actions`\?$/.test(x)), m.join('\n'))
  assert.ok(m.some((x) => /\/steps\/0\/checks\/0: unknown key `stdot` — did you mean `stdout`\?$/.test(x)), m.join('\n'))
  assert.not.ok(m.some((x) => /must have required property|must match/.test(x)), m.join('\n'))
})

t('schema error: a check with no kind or two kinds says which kinds exist', async () => {
  const p = await problems(makeLab('no-kind', GOOD.replace('        stdout: {equals: hi}\n', '')))
  assert.match(p[0], /\/steps\/0\/checks\/0: a check needs exactly one of exitCode, verdict, stdout/)
  const p2 = await problems(makeLab('two-kinds', GOOD.replace('        stdout: {equals: hi}\n', '        stdout: {equals: hi}\n        exitCode: 0\n')))
  assert.match(p2[0], /\/steps\/0\/checks\/0: a check needs exactly one of/)
})

t('schema error: a wrong type names its path', async () => {
  const p = await problems(makeLab('type', GOOD.replace('estimatedMinutes: 5', 'estimatedMinutes: soon')))
  assert.match(p[0], /lab\.yaml:5: \/estimatedMinutes: must be integer/)
})

t('YAML syntax error → file:line:col', async () => {
  const p = await problems(makeLab('syntax', GOOD + '  - id: [oops\n'))
  assert.match(p[0], /lab\.yaml:\d+:\d+: /)
})

t('bad references: an unknown result, an unreachable check, an unknown template variable', async () => {
  const p = await problems(makeLab('ref', GOOD.replace('        of: hi\n', '        of: hello\n')))
  assert.match(p[0], /\/steps\/0\/checks\/0\/of: unknown result "hello" \(this step's results: hi\)/)
  const p2 = await problems(makeLab('unreachable', GOOD.replace(/    actions:\n.*\n.*\n/, '').replace('        of: hi\n', '')))
  assert.ok(p2.some((x) => /\/steps\/0\/checks\/0: unreachable check/.test(x)), p2.join('\n'))
  const dir = makeLab('tmpl', GOOD)
  writeFileSync(join(dir, 'steps', 'one.md'), 'Look at {{resutls.hi.stdout}}\n')
  const p3 = await problems(dir)
  assert.match(p3[0], /steps\/one\.md: unknown template variable "\{\{resutls\.hi\.stdout\}\}"/)
  const dir4 = makeLab('later', GOOD)
  writeFileSync(join(dir4, 'steps', 'one.md'), 'Look at {{results.later.stdout}}\n')
  assert.match((await problems(dir4))[0], /refers to no earlier result named "later"/)
})

t('instructions show a result only inside {{#if results.NAME}}: `lab show` renders them before any run', async () => {
  const dir = makeLab('unguarded', GOOD)
  writeFileSync(join(dir, 'steps', 'one.md'), 'Intro.\n\nIt printed {{results.hi.stdout}}.\n')
  assert.match((await problems(dir))[0], /steps\/one\.md: line 3: \{\{results\.hi\.stdout\}\} has no value before the step runs \(`lab show`\): put it inside \{\{#if results\.hi\}\}/)
  // {{#unless}} guards its {{else}}; a guard on another result does not count
  writeFileSync(join(dir, 'steps', 'one.md'), '{{#unless results.hi}}soon{{else}}{{results.hi.exitCode}}{{/unless}}\n')
  await loadLab(dir)
  writeFileSync(join(dir, 'steps', 'one.md'), '{{#if work}}{{results.hi.exitCode}}{{/if}}\n')
  assert.match((await problems(dir))[0], /has no value before the step runs/)
  // before the run the lesson reads the {{else}}; after it, the result
  writeFileSync(join(dir, 'steps', 'one.md'), 'It {{#if results.hi}}printed {{results.hi.stdout}}{{else}}prints hi{{/if}}.\n')
  const l = await loadLab(dir)
  const {renderTemplate} = await import('../../dist/labs/render.js')
  const ctx = {lab: {id: 'demo', title: 'Demo'}, work: '/w', results: {}}
  assert.is(renderTemplate(l.templates.get('steps/one.md'), ctx), 'It prints hi.\n')
  assert.is(renderTemplate(l.templates.get('steps/one.md'), {...ctx, results: {hi: {stdout: 'hi!', exitCode: 0}}}), 'It printed hi!.\n')
})

t('lab show: no shipped lesson shows a placeholder or an empty result before anything ran', async () => {
  for (const id of ['ch2-containers', 'ch4-volumes', 'ch5-network', 'ch6-isolation', 'limits-and-security']) {
    const r = await lab(['show', id, '--json'])
    assert.is(r.code, 0, r.stderr)
    const shown = JSON.parse(r.stdout)
    for (const s of shown.steps) {
      const text = [s.instructions, s.exercise?.task ?? ''].join('\n')
      assert.not.match(text, /not run yet|\s\(\s*\)|\bprinted\s*[:;.]|saw:\s*$|#\s*$/m, `${id} step ${s.number}: ${text}`)
      assert.not.match(text, /^```\n\s*```$/m, `${id} step ${s.number}: an empty code block`)
    }
  }
})

t('lifecycle references: an unknown sandbox in an action or a state check, a wait without its text', async () => {
  const exec = GOOD.replace('      - run: -- echo hi\n        as: hi\n', '      - run: -d --name {{name "web"}} -- sleep 9\n      - exec: {sandbox: wbe, command: echo hi}\n        as: hi\n')
  assert.match((await problems(makeLab('exec', exec)))[0], /\/steps\/0\/actions\/1\/exec\/sandbox: unknown sandbox "wbe": no earlier action starts a sandbox with --name wbe/)
  const state = GOOD.replace('        of: hi\n        stdout: {equals: hi}\n', '        state: {sandbox: db, status: running}\n')
  assert.match((await problems(makeLab('state', state)))[0], /\/steps\/0\/checks\/0\/state\/sandbox: unknown sandbox "db"/)
  const from = GOOD.replace('-- echo hi', '--volumes-from {{name "data"}} -- echo hi')
  assert.match((await problems(makeLab('from', from)))[0], /refers to sandbox "demo-data", which no earlier action starts with --name/)
  const wait = GOOD.replace('      - run: -- echo hi\n        as: hi\n', '      - run: -d --name {{name "web"}} -- echo hi\n        as: hi\n      - wait: {sandbox: web, until: log}\n')
  assert.match((await problems(makeLab('wait', wait)))[0], /\/steps\/0\/actions\/1\/wait: until: log needs the text to wait for \(log\)/)
  const metric = GOOD.replace('        stdout: {equals: hi}\n', '        measure: {metric: speed, below: 3}\n')
  assert.match((await problems(makeLab('metric', metric)))[0], /\/steps\/0\/checks\/0\/measure\/metric: must be one of "wallMs", "cpuMs", "cpuShare"/)
})

t('run arguments are checked: unknown flags, --json, names not owned by the lab', async () => {
  assert.match((await problems(makeLab('flag', GOOD.replace('-- echo hi', '--bogus -- echo hi'))))[0], /\/steps\/0\/actions\/0\/run: unknown flag --bogus/)
  assert.match((await problems(makeLab('json', GOOD.replace('-- echo hi', '--json -- echo hi'))))[0], /--json cannot be used in a lab/)
  assert.match((await problems(makeLab('name', GOOD.replace('-- echo hi', '--name web -- echo hi'))))[0], /--name web: sandboxes of a lab are named for it; write --name \{\{name "web"\}\}/)
  assert.match((await problems(makeLab('pipe', GOOD.replace('-- echo hi', '-- echo hi | cat'))))[0], /"\|" is shell syntax/)
})

t('path traversal in fixtures and instructions is refused', async () => {
  assert.match((await problems(makeLab('dotdot', GOOD.replace('read: steps/one.md', 'read: ../../../etc/passwd.md'))))[0], /\/steps\/0\/read: must match pattern/)
  const dir = makeLab('symlink', GOOD, {'fixtures/ok.txt': 'ok\n'})
  symlinkSync('/etc/shadow', join(dir, 'fixtures', 'shadow'))
  assert.match((await problems(dir))[0], /fixtures\/shadow: is a symbolic link/)
  const dir2 = makeLab('hardlink', GOOD, {'fixtures/ok.txt': 'ok\n'})
  linkSync(join(dir2, 'fixtures', 'ok.txt'), join(dir2, 'fixtures', 'again.txt'))
  assert.match((await problems(dir2))[0], /is a hard link/)
  const dir3 = makeLab('linked-md', GOOD)
  rmSync(join(dir3, 'steps', 'one.md'))
  symlinkSync('/etc/hostname', join(dir3, 'steps', 'one.md'))
  assert.match((await problems(dir3))[0], /one\.md is a symbolic link/)
})

t('an exercise needs its reference answer in solution/', async () => {
  const y = GOOD.replace('    checks:\n', '    exercise: {file: answer.cmd, task: do it}\n    checks:\n')
  assert.match((await problems(makeLab('nosol', y)))[0], /\/steps\/0\/exercise\/file: no reference answer: solution\/answer\.cmd is missing/)
})

t('a flag of a missing engine feature makes the step unavailable, with the reason', async () => {
  const l = await loadLab(makeLab('feature', GOOD.replace('-- echo hi', '--memory 64m -- echo hi').replace('    title: One\n', '    title: One\n    requires: [limits]\n')))
  // (this holds until the engine gains --memory; then the step simply runs)
  if (l.steps[0].unavailable) assert.match(l.steps[0].unavailable, /memory, CPU and pids limits/)
})

t('lab validate: exit 1 and one line per problem; every shipped lab is valid', async () => {
  const bad = makeLab('cli', GOOD.replace('        of: hi\n', '        of: nope\n'))
  const r = await lab(['validate', bad])
  assert.is(r.code, 1)
  assert.match(r.stderr, /^lab: .*lab\.yaml:\d+: \/steps\/0\/checks\/0\/of: unknown result "nope"/)
  assert.is(r.stderr.trim().split('\n').length, 1)
  const all = await lab(['validate', '--json'])
  const data = JSON.parse(all.stdout)
  assert.ok(data.labs.length >= 1)
  assert.ok(data.valid, JSON.stringify(data.labs.filter((l) => !l.valid)))
  assert.is(all.code, 0)
})

t('lab run of an unknown lab or a malformed one: one line, non-zero', async () => {
  const r = await lab(['run', 'no-such-lab'])
  assert.is(r.code, 1)
  assert.match(r.stderr, /^lab: no lab named "no-such-lab" \(`lab list` shows the labs; give a lab of your own by its path \(\.\/my-lab\)\)\n$/)
  const bad = makeLab('cli2', GOOD.replace('estimatedMinutes: 5', 'estimatedMinutes: -1'))
  const r2 = await lab(['run', bad])
  assert.not.equal(r2.code, 0)
  assert.match(r2.stderr, /lab\.yaml:5: \/estimatedMinutes: must be >= 1/)
  assert.is(r2.stderr.trim().split('\n').length, 1)
})

t('lab new scaffolds a lab that validates; it refuses to overwrite', async () => {
  const dir = join(base, 'new')
  mkdirSync(dir)
  const r = await lab(['new', 'my-lab', '--dir', dir, '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(readFileSync(join(dir, 'my-lab', 'lab.yaml'), 'utf8'), /\$schema=.*schemas\/lab\.schema\.json/)
  const v = await lab(['validate', join(dir, 'my-lab')])
  assert.is(v.code, 0, v.stderr)
  const again = await lab(['new', 'my-lab', '--dir', dir])
  assert.is(again.code, 1)
  assert.match(again.stderr, /already exists/)
})

t('the published schema documents every field with a description', () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'lab.schema.json'), 'utf8'))
  const step = schema.properties.steps.items
  for (const [k, v] of Object.entries({...schema.properties, ...step.properties})) assert.ok(v.description, `${k} has no description`)
  assert.equal(step.properties.requires.default, [])
})

t('answer files are read like a shell, without running one', () => {
  const argv = splitCommand(`lab sandbox run -v "$PWD/docs:/srv:ro" \\\n  -- sh -c 'echo "a b" > /x'  # comment\n`, {where: 'a.cmd', vars: {PWD: '/w', WORK: '/w'}})
  assert.equal(stripSandboxRun(argv, 'a.cmd'), ['-v', '/w/docs:/srv:ro', '--', 'sh', '-c', 'echo "a b" > /x'])
  assert.throws(() => splitCommand('lab sandbox run -- ls; rm -rf /', {where: 'a', vars: {}}), /";" is shell syntax/)
  assert.throws(() => splitCommand('lab sandbox run -- echo $(id)', {where: 'a', vars: {}}), /command substitution/)
  assert.throws(() => splitCommand('lab sandbox run -v $HOME:/h -- ls', {where: 'a', vars: {PWD: '/w'}}), /unknown variable \$HOME/)
  assert.throws(() => stripSandboxRun(['docker', 'run', 'alpine'], 'a.cmd'), /must be one `lab sandbox run …` command/)
})

t.run()
