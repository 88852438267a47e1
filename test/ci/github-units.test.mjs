// The pure parts of running GitHub workflows: filter patterns and on: decisions, workflow
// commands, shells, the script-injection linter, GitHub's expression rules. No sandbox.
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {availabilityAt, availabilityProblems} from '../../dist/ci/availability.js'
import {expandLegs, legId, matrixCallOutputs} from '../../dist/ci/call-legs.js'
import {WorkflowCommands} from '../../dist/ci/commands.js'
import {buildEvent, decide, fromFork, inputsContext, matchesPatterns} from '../../dist/ci/events.js'
import {interpolate} from '../../dist/ci/expr.js'
import {loadPipeline} from '../../dist/ci/load.js'
import {remoteWorkflow} from '../../dist/ci/reusable.js'
import {references, untrustedIn} from '../../dist/ci/lint.js'
import {prependPath, stepWorkdir} from '../../dist/ci/runner.js'
import {shellPlan, shellProblem} from '../../dist/ci/shells.js'
import {unreferencedSecrets} from '../../dist/ci/secrets.js'

const t = suite('ci: GitHub semantics (pure)')
const ev = (name, ref, extra = {}) => buildEvent({name, ref, gitRef: 'refs/heads/main', gitSha: 'a'.repeat(40), repository: 'me/repo', actor: 'me', ...extra})

t('filter patterns: * stops at /, ** does not, ? and + repeat the character before, ! excludes, the last match wins', () => {
  assert.ok(matchesPatterns(['feature/*'], 'feature/x'))
  assert.not.ok(matchesPatterns(['feature/*'], 'feature/x/y'))
  assert.ok(matchesPatterns(['feature/**'], 'feature/x/y'))
  assert.ok(matchesPatterns(['**.js'], 'a/b/c.js'))
  assert.ok(matchesPatterns(['v2*'], 'v2'))
  assert.ok(matchesPatterns(['v[12].[0-9]+.[0-9]+'], 'v1.10.2'))
  assert.not.ok(matchesPatterns(['v[12].[0-9]+.[0-9]+'], 'v3.1.2'))
  assert.ok(matchesPatterns(['docs/**/*.md'], 'docs/a.md'))
  assert.not.ok(matchesPatterns(['releases/**', '!releases/**-alpha'], 'releases/1-alpha'))
  assert.ok(matchesPatterns(['releases/**', '!releases/**-alpha', 'releases/keep-alpha'], 'releases/keep-alpha'))
  assert.ok(matchesPatterns(['*.jsx?'], 'a.js') && matchesPatterns(['*.jsx?'], 'a.jsx'))
  assert.ok(matchesPatterns(['v+'], 'vvv'))
})

t('on: decides per event, ref and changed files, as GitHub does', () => {
  const on = {push: {branches: ['main', 'release/**'], 'paths-ignore': ['docs/**']}, pull_request: {branches: ['main'], types: ['opened']}}
  assert.ok(decide(on, ev('push', 'main')).runs)
  assert.ok(decide(on, ev('push', 'refs/heads/release/1/2')).runs)
  assert.match(decide(on, ev('push', 'dev')).why, 'branch "dev" is not in branches: main, release/**')
  assert.match(decide(on, ev('push', 'refs/tags/v1')).why, 'it filters branches only')
  assert.not.ok(decide(on, ev('push', 'main', {changed: ['docs/a.md', 'docs/b/c.md']})).runs)
  assert.ok(decide(on, ev('push', 'main', {changed: ['docs/a.md', 'src/x.c']})).runs)
  assert.ok(decide(on, ev('pull_request', 'main')).runs)
  assert.match(decide(on, ev('pull_request', 'dev')).why, 'is not in branches')
  assert.match(decide({pull_request: null}, ev('pull_request', 'main', {})).why, 'pull_request')
  assert.match(decide('push', ev('workflow_dispatch', 'main')).why, 'it runs on push, not on workflow_dispatch')
  assert.ok(decide({push: {tags: ['v*']}}, ev('push', 'refs/tags/v1.2')).runs)
  assert.not.ok(decide({push: {tags: ['v*']}}, ev('push', 'main')).runs)
  assert.ok(decide({push: {paths: ['src/**']}}, ev('push', 'main')).runs, 'without --changed, path filters are not applied')
  const pr = ev('pull_request', 'main')
  assert.is(pr.ref, 'refs/pull/1/merge')
  assert.is(pr.payload.pull_request.base.ref, 'main')
  assert.not.ok(fromFork(pr))
  assert.ok(fromFork({...pr, payload: {pull_request: {head: {repo: {full_name: 'them/repo'}}, base: {repo: {full_name: 'me/repo'}}}}}))
})

t('workflow_dispatch inputs: defaults and types', () => {
  const on = {workflow_dispatch: {inputs: {n: {type: 'number', default: 3}, b: {type: 'boolean', default: false}, s: {default: 'x'}}}}
  assert.equal(inputsContext(on, 'workflow_dispatch', {b: 'true'}), {n: 3, b: true, s: 'x'})
  assert.throws(() => inputsContext({workflow_dispatch: {inputs: {must: {required: true}}}}, 'workflow_dispatch', {}), /input "must" is required/)
})

t('workflow commands: outputs, masks, annotations, stop-commands, disabled set-env', () => {
  const masks = []
  const c = new WorkflowCommands({debug: false, allowUnsecure: false, onMask: (v) => masks.push(v)})
  assert.is(c.line('::set-output name=a::1%0A2'), null)
  assert.is(c.line('::add-mask::pa55word'), null)
  assert.is(c.line('::group::Title'), '▸ Title')
  assert.is(c.line('::error file=a.c,line=2,title=T%3A1::bad'), 'error: a.c:2: T:1: bad')
  assert.is(c.line('::debug::hidden'), null)
  assert.is(c.line('::stop-commands::tok'), null)
  assert.is(c.line('::set-output name=b::2'), '::set-output name=b::2')
  assert.is(c.line('::tok::'), null)
  assert.is(c.line('::set-env name=X::1'), 'error: the `set-env` command is disabled (use $GITHUB_ENV)')
  assert.is(c.line('plain ::not a command'), 'plain ::not a command')
  assert.equal(c.effects.outputs, {a: '1\n2'})
  assert.equal(masks, ['pa55word'])
  assert.equal(c.effects.annotations, [{level: 'error', message: 'bad', file: 'a.c', line: 2, title: 'T:1'}])
  assert.is(c.effects.errors.length, 1)
  assert.equal(c.effects.env, {})
})

t('shells: GitHub templates, custom {0} templates, problems', () => {
  assert.equal(shellPlan(undefined, 'github', 'F').argv, ['bash', '-e', 'F'])
  assert.equal(shellPlan('bash', 'github', 'F').argv, ['bash', '--noprofile', '--norc', '-eo', 'pipefail', 'F'])
  assert.equal(shellPlan('sh', 'github', 'F').argv, ['sh', '-e', 'F'])
  assert.equal(shellPlan('python', 'github', 'F').argv, ['python3', 'F'])
  assert.equal(shellPlan('perl -w {0}', 'github', 'F').argv, ['perl', '-w', 'F'])
  assert.is(shellPlan('python3 -u {0}', 'github', 'F').ext, '.py')
  assert.match(shellProblem('fish'), 'neither bash, sh, python, pwsh nor a template')
  assert.match(shellProblem('cmd'), 'only on Windows')
})

t('working-directory and GITHUB_PATH as GitHub resolves them', () => {
  assert.equal(stepWorkdir('/tmp', '/nonexistent'), {path: '/tmp', checked: false})
  assert.equal(stepWorkdir('/', '/nonexistent'), {path: '/', checked: true})
  assert.equal(stepWorkdir(undefined, '/nonexistent'), {path: '/workspace', checked: true})
  assert.equal(stepWorkdir('sub/../x/', '/nonexistent'), {path: '/workspace/x', checked: false})
  const p = ['/old']
  prependPath(p, ['/a', '/b'])
  prependPath(p, ['/c', '/a'])
  assert.equal(p, ['/a', '/c', '/b', '/old'])
})

t('expressions: GitHub loose typing and functions', () => {
  const ctx = {contexts: {github: {event: {labels: [{name: 'Bug'}, {name: 'ci'}]}}, env: {}, matrix: {}, steps: {}}, status: {success: true, failure: false, cancelled: false}}
  const ev_ = (e) => interpolate(`\${{ ${e} }}`, ctx, 'w')
  assert.is(ev_("null == 0"), 'true')
  assert.is(ev_("'' == 0"), 'true')
  assert.is(ev_("' 0xff ' == 255"), 'true')
  assert.is(ev_("true == 1"), 'true')
  assert.is(ev_("'ABC' == 'abc'"), 'true')
  assert.is(ev_("'abc' < 'ABD'"), 'true')
  assert.is(ev_("contains(github.event.labels.*.name, 'bug')"), 'true')
  assert.is(ev_("format('{{{0}}} {1}', 'a', 2)"), '{a} 2')
  assert.throws(() => ev_("format('{0} {1}', 'a')"), /has no argument/)
  assert.throws(() => ev_("fromJSON('{nope')"), /not JSON/)
  assert.is(ev_("join(fromJSON('[1,2,3]'), '+')"), '1+2+3')
  assert.is(ev_("0xff"), '255')
  assert.is(ev_("-2.99e-2"), '-0.0299')
  assert.is(ev_("1 && 'x' || 'y'"), 'x')
  assert.is(ev_("startsWith('Hello', 'he') && endsWith('Hello', 'LO')"), 'true')
})

t('lint: untrusted event values found in any spelling', () => {
  assert.ok(untrustedIn(' github.event.issue.title '))
  assert.ok(untrustedIn("github.event['pull_request']['head']['ref']"))
  assert.ok(untrustedIn('github.head_ref'))
  assert.ok(untrustedIn("join(github.event.commits.*.message, ' ')"))
  assert.ok(untrustedIn('toJSON(github.event)'))
  assert.not.ok(untrustedIn('github.event.pull_request.number'))
  assert.not.ok(untrustedIn('github.event_name'))
  assert.not.ok(untrustedIn('github.ref'))
  assert.equal(references("github.event.issues[0]['title']"), ['github.event.issues.*.title'])
})

t('secrets the pipeline never names', () => {
  assert.equal(unreferencedSecrets('env:\n  A: ${{ secrets.API_TOKEN }}', ['API_TOKEN', 'OTHER']), ['OTHER'])
  assert.equal(unreferencedSecrets('secrets: inherit', ['X']), [])
})

t('context availability: the key of a JSON path, its contexts and special functions, as GitHub\'s table says', () => {
  assert.equal(availabilityAt('/jobs/build/if'), {key: 'jobs.<job_id>.if', contexts: ['github', 'needs', 'vars', 'inputs'], functions: ['always', 'cancelled', 'success', 'failure']})
  assert.is(availabilityAt('/jobs/build/container/env/A').key, 'jobs.<job_id>.container.env.<env_id>')
  assert.is(availabilityAt('/jobs/build/container/image').key, 'jobs.<job_id>.container')
  assert.is(availabilityAt('/jobs/build/steps/3/with/script').key, 'jobs.<job_id>.steps.with')
  assert.is(availabilityAt('/jobs/build/runs-on/labels/0').key, 'jobs.<job_id>.runs-on')
  assert.is(availabilityAt('/jobs/build/steps/0/shell'), null)
  const problems = availabilityProblems({on: {workflow_call: {outputs: {o: {value: '${{ steps.x.outputs.y }}'}}}}, env: {A: '${{ env.B }}'}, jobs: {
    ok: {'runs-on': '${{ matrix.os }}', if: "needs.a.result == 'success' && always()", steps: [{if: "env.X == '1' && hashFiles('x') != ''", run: '${{ secrets.T }}'}]},
    bad: {strategy: {matrix: {os: '${{ fromJSON(steps.a.outputs.m) }}'}}, steps: [{if: "secrets.T != ''", run: 'true'}]},
  }})
  assert.equal(problems.map(([path]) => path).sort(), ['/env/A', '/jobs/bad/steps/0/if', '/jobs/bad/strategy/matrix/os', '/on/workflow_call/outputs/o/value'])
})

t('matrix calls: each leg a call of its own, the outputs of the last successful leg to finish that set them', () => {
  assert.is(legId('call', {target: 'amd64', n: 1}), 'call (target=amd64, n=1)')
  const caller = {id: 'call', needs: ['setup'], env: {}, matrix: null, matrixSource: '${{ fromJSON(needs.setup.outputs.m) }}', failFast: true, container: {}, workspace: 'copy', services: {}, steps: [], artifacts: [], caches: [], continueOnError: false, defaults: {}, outputs: {},
    callee: {jobs: [], prefix: 'call', outputs: {a: '${{ jobs.b.outputs.a }}'}, legs: true, template: [
      {id: 'call/b', name: 'call / b', needs: ['setup'], call: {caller: 'call', with: {}, inputs: {}, callerNeeds: ['setup']}, env: {}, matrix: null, steps: []},
      {id: 'call/c', needs: ['call/b'], call: {caller: 'call', with: {}, inputs: {}, callerNeeds: ['setup']}, env: {}, matrix: null, steps: []},
    ]}}
  const made = expandLegs(caller, [{t: 'x'}, {t: 'y'}])
  assert.equal(made.legs.map((l) => [l.id, l.needs, l.callee.jobs, l.callMatrix]), [
    ['call (t=x)', ['setup', 'call (t=x)/b', 'call (t=x)/c'], ['call (t=x)/b', 'call (t=x)/c'], {t: 'x'}],
    ['call (t=y)', ['setup', 'call (t=y)/b', 'call (t=y)/c'], ['call (t=y)/b', 'call (t=y)/c'], {t: 'y'}],
  ])
  const c = made.called.find((j) => j.id === 'call (t=y)/c')
  assert.equal([c.needs, c.call.caller, c.call.matrix], [['call (t=y)/b'], 'call (t=y)', {t: 'y'}])
  assert.is(made.called[0].name, 'call (t=x) / b')
  // finished 3rd, 1st, 2nd: the last to finish wins; an empty value or a failed leg does not count
  assert.equal(matrixCallOutputs([
    {result: 'success', outputs: {a: '3', b: ''}, finished: 3},
    {result: 'success', outputs: {a: '1', b: '1'}, finished: 1},
    {result: 'failure', outputs: {a: '9', b: '9'}, finished: 4},
    {result: 'success', outputs: {a: '2', b: '2'}, finished: 2},
  ]), {a: '3', b: '2'})
})

async function rejects(promise, re) {
  try {
    await promise
  } catch (e) {
    assert.match(e.message, re)
    return
  }
  assert.unreachable(`no error matching ${re}`)
}

// a repository of workflows: name → text, under DIR/.github/workflows
function repo(files) {
  const dir = mkdtempSync(join(tmpdir(), 'lab-reusable-'))
  mkdirSync(join(dir, '.github', 'workflows'), {recursive: true})
  for (const [n, text] of Object.entries(files)) writeFileSync(join(dir, '.github', 'workflows', n), text)
  return dir
}
const callee = (body = 'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n') => `on: workflow_call\n${body}`
const calling = (uses) => `on: push\njobs:\n  c:\n    uses: ${uses}\n`

t('remote reusable workflows: OWNER/REPO/.github/workflows/W.yml@REF read from the --action-dir copy; ./ inside it names the copy', async () => {
  assert.equal(remoteWorkflow('acme/ci/.github/workflows/build.yml@v1'), {key: 'acme/ci@v1', rel: '.github/workflows/build.yml'})
  assert.equal(remoteWorkflow('acme/ci/.github/workflows/sub/build.yml@v1'), null)
  assert.equal(remoteWorkflow('acme/ci@v1'), null)
  assert.equal(remoteWorkflow('../ci/.github/workflows/build.yml@v1'), null)
  const copy = repo({'build.yml': callee('jobs:\n  inner:\n    uses: ./.github/workflows/inner.yml\n'), 'inner.yml': callee()})
  const ws = repo({'ci.yml': calling('acme/ci/.github/workflows/build.yml@v1')})
  try {
    const p = await loadPipeline(join(ws, '.github/workflows/ci.yml'), {actionDirs: {'acme/ci@v1': copy}})
    assert.equal(Object.keys(p.jobs).sort(), ['c', 'c/inner', 'c/inner/a'])
    assert.equal(p.warnings, [])
    // without the copy: skipped with a warning, or a problem with --strict
    const skipped = await loadPipeline(join(ws, '.github/workflows/ci.yml'), {})
    assert.ok(skipped.jobs.c.callee.unsupported)
    assert.match(skipped.warnings.join('\n'), /--action-dir acme\/ci@v1=DIR/)
    await rejects(loadPipeline(join(ws, '.github/workflows/ci.yml'), {strict: true}), /\/jobs\/c\/uses: .*remote reusable workflow.*--action-dir acme\/ci@v1=DIR/)
    // the file in the copy is reached through no link
    rmSync(join(copy, '.github/workflows/build.yml'))
    symlinkSync(join(copy, '.github/workflows/inner.yml'), join(copy, '.github/workflows/build.yml'))
    await rejects(loadPipeline(join(ws, '.github/workflows/ci.yml'), {actionDirs: {'acme/ci@v1': copy}}), /is not a workflow file of the copy/)
  } finally {
    rmSync(copy, {recursive: true, force: true})
    rmSync(ws, {recursive: true, force: true})
  }
})

t('reusable workflows: GitHub\'s limits of 4 levels in all and 20 unique workflows in a run', async () => {
  // top → l1 → l2 → l3 is 4 levels; l3 calling l4 is a fifth
  const deep = repo({
    'ci.yml': calling('./.github/workflows/l1.yml'),
    'l1.yml': callee('jobs:\n  n:\n    uses: ./.github/workflows/l2.yml\n'),
    'l2.yml': callee('jobs:\n  n:\n    uses: ./.github/workflows/l3.yml\n'),
    'l3.yml': callee(),
  })
  const wide = repo(Object.fromEntries([['ci.yml', `on: push\njobs:\n${Array.from({length: 21}, (_, i) => `  c${i}:\n    uses: ./.github/workflows/w${i}.yml\n  again${i}:\n    uses: ./.github/workflows/w${i}.yml\n`).join('')}`], ...Array.from({length: 21}, (_, i) => [`w${i}.yml`, callee()])]))
  try {
    const p = await loadPipeline(join(deep, '.github/workflows/ci.yml'))
    assert.ok(p.jobs['c/n/n/a'])
    writeFileSync(join(deep, '.github/workflows/l3.yml'), callee('jobs:\n  n:\n    uses: ./.github/workflows/l4.yml\n'))
    writeFileSync(join(deep, '.github/workflows/l4.yml'), callee())
    await rejects(loadPipeline(join(deep, '.github/workflows/ci.yml')), /nest more than 4 levels deep/)
    // the same workflow called twice counts once: 20 unique are allowed, the 21st is not
    await rejects(loadPipeline(join(wide, '.github/workflows/ci.yml')), /\/jobs\/c20\/uses: .*more than 20 unique reusable workflows/)
    writeFileSync(join(wide, '.github/workflows/ci.yml'), `on: push\njobs:\n${Array.from({length: 20}, (_, i) => `  c${i}:\n    uses: ./.github/workflows/w${i}.yml\n  again${i}:\n    uses: ./.github/workflows/w${i}.yml\n`).join('')}`)
    assert.is(Object.keys((await loadPipeline(join(wide, '.github/workflows/ci.yml'))).jobs).length, 80)
  } finally {
    rmSync(deep, {recursive: true, force: true})
    rmSync(wide, {recursive: true, force: true})
  }
})

t.run()
