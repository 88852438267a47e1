// What framework runs report, read as data: TAP, JUnit XML and lab's JSON lines. All of it
// is text a submission could shape, so garbage and hostile constructs must read as nothing.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {parseJsonLines, parseJunitXml, parseTap} from '../../dist/grading/frameworks/parse.js'

const t = suite('grading: framework reports parsed')

t('TAP: points, escaped #, SKIP and TODO, the YAML message, output of the next point', () => {
  const r = parseTap(['TAP version 14', '1..4', 'student says hi', 'ok 1 - adds \\# numbers', 'not ok 2 - divides', '  ---', '  message: "expected 2, got 3"', '  ...', 'ok 3 - later # SKIP not yet', 'not ok 4 - todo # TODO someday'].join('\n'))
  assert.equal(r.results.map((x) => [x.name, x.status, x.message]), [
    ['adds # numbers', 'passed', null],
    ['divides', 'failed', 'expected 2, got 3'],
    ['later', 'skipped', null],
    ['todo', 'passed', null],
  ])
  assert.is(r.results[0].output, 'student says hi')
})

t('TAP: Bail out! is a load error with the output before it', () => {
  const r = parseTap('TAP version 14\ncannot open data file\nBail out! no data\n')
  assert.match(r.loadError, /^no data\ncannot open data file/)
})

t('JUnit: failures, errors, skipped, entities, output; a DOCTYPE is refused unread', () => {
  const r = parseJunitXml('<testsuite><testcase name="a &amp; b" time="0.25"><failure message="x &lt; y">trace</failure><system-out>hi</system-out></testcase><testcase name="e"><error message="boom"/></testcase><testcase name="s"><skipped/></testcase><testcase name="p"/></testsuite>')
  assert.equal(r.results.map((x) => [x.name, x.status, x.message, x.output, x.ms]), [
    ['a & b', 'failed', 'x < y\ntrace', 'hi', 250],
    ['e', 'error', 'boom', '', 0],
    ['s', 'skipped', 'skipped', '', 0],
    ['p', 'passed', null, '', 0],
  ])
  const bomb = parseJunitXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite><testcase name="&a;"/></testsuite>')
  assert.equal(bomb.results, [])
  assert.match(bomb.loadError, /DOCTYPE/)
})

t('JUnit: unclosed and endless tags end the reading, they do not stall it', () => {
  assert.equal(parseJunitXml('<testcase '.repeat(10000)).results, [])
  assert.is(parseJunitXml(`<testcase name="x">${'<failure '.repeat(10000)}</testcase>`).results.length, 1)
})

t('JSON lines: only well-formed events with known statuses count; the running test is remembered', () => {
  const r = parseJsonLines(['{"event":"collected","tests":["a","b",3]}', 'not json', '{"event":"start","name":"a"}', '{"event":"result","name":"a","status":"passed","ms":3}', '{"event":"result","name":"b","status":"owned"}', '{"event":"start","name":"b"}', '[]', 'null'].join('\n'))
  assert.equal(r.collected, ['a', 'b'])
  assert.equal(r.results.map((x) => [x.name, x.status]), [['a', 'passed']])
  assert.is(r.running, 'b')
})

t.run()
