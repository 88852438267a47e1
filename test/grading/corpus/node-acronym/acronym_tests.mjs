import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parse} from './acronym.mjs'

test('basic', () => {
  assert.equal(parse('Portable Network Graphics'), 'PNG')
})

test('lowercase words', () => {
  assert.equal(parse('Ruby on Rails'), 'ROR')
})

test('punctuation', () => {
  assert.equal(parse('First In, First Out'), 'FIFO')
})

test('hyphenated words', () => {
  assert.equal(parse('Complementary metal-oxide semiconductor'), 'CMOS')
})
