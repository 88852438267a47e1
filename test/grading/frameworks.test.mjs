// Framework runs end to end on the proof corpus (test/grading/corpus): for pytest, unittest,
// node:test, a C program with a TAP harness and a command writing JUnit XML, each with a
// reference, stub, partial, syntax-error, import-error, infinite-loop and output-flood
// submission, every test must get the status its expected.json says — a looping or
// flooding test loses only its own points, a submission that does not load is one error.
// Every report format of those batches is validated against its published schema.
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import Ajv from 'ajv'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'
import {tap14Problems} from './tap14.mjs'

const t = suite('grading: framework runs on the proof corpus')
const CORPUS = join(ROOT, 'test', 'grading', 'corpus')
const SCHEMAS = join(ROOT, 'test', 'grading', 'schemas')
const EXERCISES = ['pytest-bob', 'unittest-leap', 'node-acronym', 'c-tap', 'junit-twofer']
let base
const runs = {}

t.before(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-fw-'))
})
t.after(() => rmSync(base, {recursive: true, force: true}))

rootTest(t, 'each exercise graded in one batch: every submission and test as expected.json says', async () => {
  // the batches wait on time limits more than they compute: run side by side
  await Promise.all(
    EXERCISES.map(async (ex) => {
      const dir = join(CORPUS, ex)
      const subs = readdirSync(join(dir, 'submissions')).map((s) => join(dir, 'submissions', s))
      const out = join(base, ex)
      const r = await lab(['grade', dir, ...subs, '--out', out, '--json', '--jobs', '2'], {timeout: 240_000})
      assert.is(r.code, 0, `${ex}: ${r.stderr}`)
      runs[ex] = {report: JSON.parse(r.stdout), out, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))}
    }),
  )
  for (const ex of EXERCISES) {
    const {report, expected} = runs[ex]
    for (const [id, want] of Object.entries(expected)) {
      const s = report.submissions.find((x) => x.id === id)
      assert.ok(s, `${ex}/${id} graded`)
      const got = Object.fromEntries(s.tests.map((x) => [x.name, x.status]))
      assert.equal({status: s.status, score: s.score, tests: got}, want, `${ex}/${id}: ${s.message ?? ''} ${JSON.stringify(s.tests.map((x) => [x.name, x.message.slice(0, 120)]))}`)
    }
  }
})

const sub = (ex, id) => runs[ex].report.submissions.find((x) => x.id === id)
const test = (ex, id, name) => sub(ex, id).tests.find((x) => x.name === name)

rootTest(t, 'failures carry the framework\'s assertion and the student\'s own output', () => {
  const partial = test('pytest-bob', 'partial', 'BobTest.test_shouting')
  assert.match(partial.message, /AssertionError: 'Whatever\.' != 'Whoa, chill out!'/)
  assert.match(partial.stdout, /thinking about: WATCH OUT!/)
  assert.match(test('unittest-leap', 'partial', 'LeapTest.test_year_divisible_by_100_not_by_400').stdout, /checking 2100/)
  assert.match(test('node-acronym', 'partial', 'hyphenated words').message, /'CMS' !== 'CMOS'/)
  assert.match(test('c-tap', 'partial', 'primes').message, /is_prime\(2\): expected 1, got 0/)
  assert.match(test('junit-twofer', 'partial', 'test_no_name_given').message, /One for None/)
})

rootTest(t, 'a looping test loses only its points: the framework\'s timeout where there is one, else a split re-run', () => {
  const py = test('pytest-bob', 'infinite-loop', 'BobTest.test_shouting')
  assert.is(py.verdict, 'timeout')
  assert.match(py.message, /time limit \(2s\)/)
  // node:test, TAP and JUnit programs cannot say which test ran: the tests left ran one by one
  for (const [ex, name] of [['node-acronym', 'punctuation'], ['c-tap', 'gcd with zero'], ['junit-twofer', 'test_a_name_given']]) {
    const x = test(ex, 'infinite-loop', name)
    assert.is(x.verdict, 'timeout', `${ex}: ${x.message}`)
    assert.is(x.score, 0)
  }
  // flooding: the output is capped and says so
  const flood = test('unittest-leap', 'output-flood', 'LeapTest.test_year_divisible_by_400')
  assert.match(flood.stdout, /\[output truncated: \d+ more characters\]$/)
})

rootTest(t, 'a syntax or import error is one error with the interpreter\'s message, not N failures', () => {
  for (const [ex, re] of [['pytest-bob', /SyntaxError/], ['unittest-leap', /SyntaxError: '\(' was never closed/], ['node-acronym', /SyntaxError: Unexpected token/], ['junit-twofer', /SyntaxError/]]) {
    const s = sub(ex, 'syntax-error')
    assert.is(s.status, 'load-failed')
    assert.match(s.message, re)
  }
  assert.match(sub('pytest-bob', 'import-error').message, /No module named 'bobs_helpers'/)
  assert.match(sub('node-acronym', 'import-error').message, /Cannot find module '\/work\/helpers\.mjs'/)
  assert.is(sub('c-tap', 'syntax-error').status, 'build-failed')
})

const ajv = new Ajv({allErrors: true, strict: false})
const validator = (file) => ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')))

rootTest(t, 'Exercism v3: every results.json valid; error status, test_code from the test body, task_id, output truncated as the official runner does', () => {
  const valid = validator('exercism-results-v3.schema.json')
  for (const ex of EXERCISES) {
    for (const id of Object.keys(runs[ex].expected)) {
      const r = JSON.parse(readFileSync(join(runs[ex].out, 'exercism', id, 'results.json'), 'utf8'))
      assert.ok(valid(r), `${ex}/${id}: ${ajv.errorsText(valid.errors)}`)
    }
  }
  const ex = (id) => JSON.parse(readFileSync(join(runs['pytest-bob'].out, 'exercism', id, 'results.json'), 'utf8'))
  const broken = ex('syntax-error')
  assert.is(broken.status, 'error')
  assert.equal(broken.tests, [])
  assert.match(broken.message, /SyntaxError/)
  const partial = ex('partial')
  assert.is(partial.status, 'fail')
  // names and order as the test file gives them; hidden tests (silence) are not shown
  assert.equal(partial.tests.map((x) => x.name), ['BobTest.test_stating_something', 'BobTest.test_shouting', 'BobTest.test_asking_a_question', 'BobTest.test_forceful_question'])
  const shouting = partial.tests[1]
  assert.is(shouting.test_code, 'self.assertEqual(response("WATCH OUT!"), "Whoa, chill out!")')
  assert.is(shouting.task_id, 2)
  assert.is(shouting.output, 'thinking about: WATCH OUT!')
  assert.is(partial.tests[0].message, undefined, 'a passing test carries no message')
  const flood = JSON.parse(readFileSync(join(runs['unittest-leap'].out, 'exercism', 'output-flood', 'results.json'), 'utf8'))
  const out = flood.tests.find((x) => x.name === 'LeapTest.test_year_divisible_by_400').output
  assert.ok(out.endsWith(' [Output was truncated. Please limit to 500 chars]'), out.slice(-80))
  assert.is(out.length, 500 + ' [Output was truncated. Please limit to 500 chars]'.length)
})

rootTest(t, 'Gradescope: every results.json valid against the documented keys; the failure and the student output in the test, the error at the top', () => {
  const valid = validator('gradescope-results.schema.json')
  for (const ex of EXERCISES) {
    for (const id of Object.keys(runs[ex].expected)) {
      const r = JSON.parse(readFileSync(join(runs[ex].out, 'gradescope', id, 'results.json'), 'utf8'))
      assert.ok(valid(r), `${ex}/${id}: ${ajv.errorsText(valid.errors)}`)
      assert.is(r.max_score, undefined, 'no top-level max_score: Gradescope takes it from the assignment')
    }
  }
  const gs = (id) => JSON.parse(readFileSync(join(runs['pytest-bob'].out, 'gradescope', id, 'results.json'), 'utf8'))
  const p = gs('partial')
  const shouting = p.tests.find((x) => x.name === 'BobTest.test_shouting')
  assert.match(shouting.output, /AssertionError: 'Whatever\.' != 'Whoa, chill out!'/)
  assert.match(shouting.output, /Your program's output:[\s\S]*thinking about: WATCH OUT!/)
  assert.is(shouting.output_format, 'md')
  assert.ok(p.execution_time <= 30, 'execution_time: the submission\'s own sandboxes')
  const broken = gs('import-error')
  assert.match(broken.output, /could not be graded \(load-failed\)[\s\S]*No module named 'bobs_helpers'/)
  assert.is(broken.extra_data.upload, 'import-error')
})

const xmllint = (args) => new Promise((resolve) => execFile('xmllint', args, {encoding: 'utf8'}, (err, stdout, stderr) => resolve({code: err ? (err.code ?? 1) : 0, stdout, stderr})))

rootTest(t, 'JUnit XML valid against Jenkins\' XSD (xmllint); a submission that could not load is <error>, not <failure>', async () => {
  for (const ex of EXERCISES) {
    const r = await xmllint(['--noout', '--schema', join(SCHEMAS, 'junit-10.xsd'), join(runs[ex].out, 'junit.xml')])
    if (r.code === 127 || /ENOENT/.test(r.stderr)) assert.unreachable('xmllint is missing: apt-get install -y libxml2-utils')
    assert.is(r.code, 0, `${ex}: ${r.stderr}`)
  }
  const x = readFileSync(join(runs['pytest-bob'].out, 'junit.xml'), 'utf8')
  const suiteOf = (id) => x.slice(x.indexOf(`<testsuite name="${id}"`), x.indexOf('</testsuite>', x.indexOf(`<testsuite name="${id}"`)))
  assert.is((suiteOf('syntax-error').match(/<error /g) ?? []).length, 6)
  assert.not.match(suiteOf('syntax-error'), /<failure /)
  assert.match(suiteOf('partial'), /<failure message="AssertionError: &apos;Whatever\.&apos; != &apos;Whoa, chill out!&apos;"/)
})

rootTest(t, 'TAP 14: every results.tap valid against the specification\'s grammar', () => {
  for (const ex of EXERCISES) {
    const problems = tap14Problems(readFileSync(join(runs[ex].out, 'results.tap'), 'utf8'))
    assert.equal(problems, [], `${ex}: ${problems.join('; ')}`)
  }
  assert.ok(tap14Problems('TAP version 14\n1..2\nok 1 - a\n').length > 0, 'the validator itself refuses a wrong count')
})

t.run()
