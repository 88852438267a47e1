// The one YAML loader (src/util/yaml-load.ts) as the three file formats use it: a
// misspelt key names the key meant, a problem inside a value beats the failed
// alternatives about the whole value, and every problem names its file and line.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'
import {loadPipeline} from '../../dist/ci/load.js'
import {loadGradingSpec} from '../../dist/grading/load.js'
import {parseYaml, schemaProblems} from '../../dist/util/yaml-load.js'
import {check} from '../../dist/validators.js'

const t = suite('one YAML loader')
const base = mkdtempSync(join(tmpdir(), 'lab-yaml-'))
t.after(() => rmSync(base, {recursive: true, force: true}))

async function problemsOf(fn) {
  try {
    await fn()
  } catch (e) {
    return e.problems ?? [e.message]
  }
  assert.unreachable('it loaded')
}

t('a pipeline with `step:` says "unknown key `step` — did you mean `steps`?", on its line, and nothing about a missing steps', async () => {
  const f = join(base, 'ci.yml')
  writeFileSync(f, 'jobs:\n  build:\n    step:\n      - run: make\n')
  const p = await problemsOf(() => loadPipeline(f, {workspace: base}))
  assert.equal(p.map((x) => x.replace(/^.*ci\.yml/, 'ci.yml')), ['ci.yml:3: /jobs/build: unknown key `step` — did you mean `steps`?'])
  // the same through the CLI: one line
  const r = await lab(['ci', f, '--workspace', base])
  assert.is(r.code, 125)
  assert.match(r.stderr, /^lab: .*ci\.yml:3: \/jobs\/build: unknown key `step` — did you mean `steps`\? \(fix the pipeline file/)
  assert.not.match(r.stderr, /required property|more problem/)
})

t('a key that is there already is never the suggestion; a key nothing is close to is named plainly', async () => {
  const f = join(base, 'ci2.yml')
  writeFileSync(f, 'jobs:\n  a:\n    stepz: []\n    steps: [{run: x}]\n    colour: red\n')
  const p = await problemsOf(() => loadPipeline(f, {workspace: base}))
  assert.ok(p.some((x) => x.endsWith('ci2.yml:3: /jobs/a: unknown key `stepz`')), p.join('\n'))
  assert.ok(p.some((x) => x.endsWith('/jobs/a: unknown key `colour`')), p.join('\n'))
})

t('a grading spec: misspelt `point` → `points`; a wrong type inside a test is reported where it is', async () => {
  const f = join(base, 'grading.yaml')
  writeFileSync(f, 'title: x\ntests:\n  - name: a\n    point: 1\n    run: "true"\n    checks: [{exitCode: "zero"}]\n')
  const p = await problemsOf(() => loadGradingSpec(f))
  assert.equal(p, ['grading.yaml:3: /tests/0: unknown key `point` — did you mean `points`?', 'grading.yaml:6: /tests/0/checks/0/exitCode: must be integer'])
})

t('YAML syntax errors name file, line and column in every format', async () => {
  const f = join(base, 'broken.yaml')
  writeFileSync(f, 'title: x\ntests: [\n')
  const p = await problemsOf(() => loadGradingSpec(f))
  assert.match(p[0], /^broken\.yaml:\d+:\d+: /)
  const dup = join(base, 'dup.yml')
  writeFileSync(dup, 'jobs:\n  a:\n    steps: []\n  a:\n    steps: []\n')
  assert.match((await problemsOf(() => loadPipeline(dup, {workspace: base})))[0], /dup\.yml:4:3: Map keys must be unique/)
})

t('schemaProblems: the failed branch of anyOf ("must be null") gives way to the problem inside the value', async () => {
  const profile = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALOW'}]}
  const raw = await check('seccomp-profile', profile)
  assert.ok(raw.some((p) => p.message === 'must be null'), 'ajv reports the null branch')
  const clean = schemaProblems(raw, {data: profile})
  assert.equal(clean.map((p) => p.path), ['/syscalls/0/action'])
  const file = join(base, 'bad-profile.json')
  writeFileSync(file, JSON.stringify(profile))
  const r = await lab(['profile', 'validate', file])
  assert.is(r.code, 1)
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  assert.match(r.stderr, /\/syscalls\/0\/action: must be one of/)
})

t('parseYaml finds the line of a JSON path, or of its nearest ancestor', () => {
  const y = parseYaml('a:\n  b:\n    - x\n    - y: 1\n', 'f.yaml')
  assert.is(y.lineOf('/a/b/1/y'), 4)
  assert.is(y.lineOf('/a/b/1/nope'), 4)
  assert.is(y.lineOf(['a']), 2)
})

t('one KEY=value reader for --env-file and --secret-file: comments, blank lines, CRLF, "=" in values; a secret\'s bad line is never shown', async () => {
  const {parseKeyValueLines} = await import('../../dist/util/keyvalue-file.js')
  assert.equal(parseKeyValueLines('A=1\r\n\n  # note\nB=x=y\nBARE\n'), [{line: 1, key: 'A', value: '1'}, {line: 4, key: 'B', value: 'x=y'}, {line: 5, key: 'BARE', value: undefined}])
  const {loadSecrets} = await import('../../dist/ci/secrets.js')
  const f = join(base, 'ci.secrets')
  writeFileSync(f, '# tokens\nAPI_TOKEN="s3cr3t-value"\r\n')
  assert.equal(loadSecrets({files: [f], env: {}}), {API_TOKEN: 's3cr3t-value'})
  writeFileSync(f, 'API_TOKEN=ok\nhunter2-the-password\n')
  try {
    loadSecrets({files: [f], env: {}})
    assert.unreachable('a bad line is refused')
  } catch (e) {
    assert.match(e.message, /ci\.secrets:2: not a NAME=value line/)
    assert.not.match(e.message + e.hint, /hunter2/)
  }
})

t.run()
