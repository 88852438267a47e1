// The pure parts of `lab ci`: expressions, matrices, the needs graph, secret masking and
// GitHub's command files. No sandbox needed.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {dagProblems, topoOrder} from '../../dist/ci/dag.js'
import {evalCondition, interpolate} from '../../dist/ci/expr.js'
import {parseCommandFile} from '../../dist/ci/github.js'
import {expandMatrix, matrixProblems} from '../../dist/ci/matrix.js'
import {MaskedLines, Masker} from '../../dist/ci/secrets.js'

const t = suite('ci: expressions, matrix, needs, masking')
const ctx = (status = {success: true, failure: false, cancelled: false}) => ({contexts: {matrix: {os: 'linux', n: 2}, needs: {build: {result: 'failure', outputs: {v: '1'}}}, env: {A: 'x'}, secrets: {}, steps: {s: {outputs: {o: 'out'}}}}, status})

t('expressions: contexts, operators, functions; if: implies success() unless it names a status function', () => {
  assert.is(interpolate('${{ matrix.os }}-${{ matrix.n }}', ctx(), 'w'), 'linux-2')
  assert.throws(() => interpolate('${{ matrix.n * 2 }}', ctx(), 'w'), /unexpected "\*"/)
  assert.is(interpolate("${{ format('{0}/{1}', matrix.os, steps.s.outputs.o) }}", ctx(), 'w'), 'linux/out')
  assert.is(interpolate("${{ contains(needs.*.result, 'failure') }}", ctx(), 'w'), 'true')
  assert.ok(evalCondition("matrix.os == 'LINUX'", ctx(), 'w'))
  assert.not.ok(evalCondition("matrix.os == 'linux'", ctx({success: false, failure: true, cancelled: false}), 'w'))
  assert.ok(evalCondition('always()', ctx({success: false, failure: true, cancelled: false}), 'w'))
  assert.ok(evalCondition('${{ failure() }}', ctx({success: false, failure: true, cancelled: false}), 'w'))
  assert.throws(() => interpolate('${{ nope.x }}', ctx(), '/jobs/a/run'), /\/jobs\/a\/run: invalid expression .*unknown context "nope"/)
})

t('matrix: product, exclude, include extends or adds; problems name their path', () => {
  const combos = expandMatrix({a: [1, 2], b: ['x', 'y'], exclude: [{a: 2, b: 'y'}], include: [{a: 1, c: true}, {a: 9}]})
  assert.equal(combos, [{a: 1, b: 'x', c: true}, {a: 1, b: 'y', c: true}, {a: 2, b: 'x'}, {a: 9}])
  assert.equal(matrixProblems({a: 3}, '/m').map((p) => p.path), ['/m/a'])
  assert.equal(matrixProblems({a: [1], exclude: [{z: 1}]}, '/m').map((p) => p.path), ['/m/exclude/0/z'])
  assert.match(matrixProblems({a: Array(20).fill(1), b: Array(20).fill(1)}, '/m')[0].message, '400 combinations')
})

t('needs: order, unknown jobs and cycles', () => {
  assert.equal(topoOrder({c: ['a', 'b'], a: [], b: ['a']}), ['a', 'b', 'c'])
  assert.match(dagProblems({a: ['b'], b: ['c'], c: ['a']})[0].message, 'the needs form a cycle: a → b → c → a')
  assert.match(dagProblems({a: ['zz']})[0].message, 'needs "zz"')
})

t('masking: the value, its lines, base64 forms; split across chunks', () => {
  const m = new Masker(['hunter2-pass', 'line-one-xyz\nline-two-xyz'])
  assert.is(m.mask('p=hunter2-pass'), 'p=***')
  assert.is(m.mask(Buffer.from('hunter2-pass\n').toString('base64')), '***')
  assert.is(m.mask(Buffer.from('hunter2-pass').toString('base64')), '***')
  assert.is(m.mask('> line-two-xyz <'), '> *** <')
  const got = []
  const l = new MaskedLines(m, (x) => got.push(x))
  l.write('a hunt')
  l.write('er2-pass b\nrest')
  l.flush()
  assert.equal(got, ['a *** b', 'rest'])
})

t('GITHUB_OUTPUT files: NAME=value and heredocs', () => {
  assert.equal(parseCommandFile('a=1\nb<<EOF\nx\ny\nEOF\nc=3=4\n'), {a: '1', b: 'x\ny', c: '3=4'})
})

t.run()
