// Progress of a batch: a redrawn bar on a terminal, one parseable line per submission otherwise.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {progressReporter} from '../../dist/grading/progress.js'

const t = suite('grading: progress')
const sink = () => {
  const s = {text: '', write: (c) => ((s.text += c), true)}
  return s
}
const sub = (id, score) => ({type: 'submission', result: {id, score, maxScore: 10, status: 'graded'}, done: 1, submissions: 2})

t('not a terminal: one plain "graded ID SCORE/MAX STATUS" line per submission, nothing else', () => {
  const out = sink()
  const p = progressReporter({tty: false, stream: out})
  p.onProgress({type: 'start', submissions: 2, runs: 4})
  p.onProgress({type: 'run', submission: 'alice', test: 'a', done: 1, runs: 4})
  p.onProgress(sub('alice', 7))
  p.close()
  assert.is(out.text, 'graded alice 7/10 graded\n')
})

t('a terminal: a bar with runs and submissions, redrawn in place and cleared at the end', () => {
  const out = sink()
  const p = progressReporter({tty: true, stream: out})
  p.onProgress({type: 'start', submissions: 2, runs: 4})
  p.onProgress(sub('alice', 7))
  assert.match(out.text, /\r\x1b\[2Kgrading ▕░{24}▏ 0\/4 runs · 1\/2 submissions · 0:00/)
  p.close()
  assert.ok(out.text.endsWith('\r\x1b[2K'), 'the bar is cleared')
})

t.run()
