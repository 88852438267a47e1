// The Dockerfile reader without running anything: continuations with comments inside,
// heredocs, parser directives, Docker's word splitting and variable expansion, and
// .dockerignore patterns, each against what Docker's builder does with the same text.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {parseBuildArgv} from '../../dist/cli/build.js'
import {ignoreMatcher, parseDockerignore} from '../../dist/build/context.js'
import {parseDockerfile} from '../../dist/build/parse.js'
import {processPairs, processWord, processWords} from '../../dist/build/words.js'

const t = suite('build: parse')

t('stages, names, global ARGs and the line each instruction starts on', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM $BASE AS Build\nRUN make\n\nFROM scratch\nCOPY --from=build /a /a\n')
  assert.is(df.globalArgs.length, 1)
  assert.equal(df.stages.map((s) => s.name), ['build', undefined])
  assert.is(df.stages[0].from.args, '$BASE')
  assert.equal(df.stages[1].instructions[0].flags, {from: 'build'})
  assert.is(df.stages[1].instructions[0].line, 7)
})

t('a continued line drops the comment lines inside it, as Docker does (dockerfile-ast keeps them)', () => {
  const df = parseDockerfile('FROM x\nRUN echo a \\\n  # not part of the command\n  && echo b\n')
  const run = df.stages[0].instructions[0]
  assert.is(run.args, 'echo a   && echo b')
  assert.is(run.line, 2)
})

t('# escape=` makes the backtick the line continuation, so Windows paths keep their backslashes', () => {
  const df = parseDockerfile('# escape=`\nFROM x\nCOPY a `\n  C:\\dir\\\n')
  assert.is(df.escape, '`')
  assert.equal(processWords(df.stages[0].instructions[0].args, new Map(), '`'), ['a', 'C:\\dir\\'])
})

t('heredocs: bodies cut out of RUN and COPY, <<- strips tabs, a quoted delimiter is not expanded', () => {
  const df = parseDockerfile('FROM x\nRUN <<EOF\necho 1\necho 2\nEOF\nCOPY <<-"END" /f\n\tliteral $X\n\tEND\nENV A=1\n')
  const [run, copy, env] = df.stages[0].instructions
  assert.equal(run.heredocs, [{name: 'EOF', body: 'echo 1\necho 2\n', expand: true}])
  assert.equal(copy.heredocs, [{name: 'END', body: 'literal $X\n', expand: false}])
  assert.is(env.keyword, 'ENV')
  assert.is(env.line, 9)
})

t('exec form is JSON; anything else is the shell form', () => {
  const [a, b] = parseDockerfile('FROM x\nCMD ["a", "b c"]\nCMD [not json]\n').stages[0].instructions
  assert.equal(a.json, ['a', 'b c'])
  assert.is(b.json, undefined)
})

t('errors name the line: unknown instruction, no FROM, instruction before FROM, unclosed heredoc', () => {
  assert.throws(() => parseDockerfile('FROM x\nFROBNICATE y\n'), /line 2: unknown instruction: FROBNICATE/)
  assert.throws(() => parseDockerfile('# just a comment\n'), /no FROM/)
  assert.throws(() => parseDockerfile('RUN x\nFROM y\n'), /line 1: RUN before the first FROM/)
  assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\necho\n'), /heredoc <<EOF is not closed/)
})

t('words: quotes, escapes and variables as Docker\'s lexer reads them', () => {
  const v = new Map([['A', 'x y'], ['E', '']])
  assert.equal(processWords('"$A" \'$A\' $A\\ z ${A}', v), ['x y', '$A', 'x y z', 'x y'], 'a variable\'s value is not split again')
  assert.is(processWord('${E:-def}${E-unset}${NOPE:-none}${A:+alt}', v), 'defnonealt')
  assert.is(processWord('"a\\"b\\$c\\d"', v), 'a"b$c\\d', 'in double quotes the escape works only before " $ and itself')
  assert.throws(() => processWord('${NOPE:?must be set}', v), /NOPE: must be set/)
  assert.equal(processPairs('A=1 B="two words" C=$A', v), [['A', '1'], ['B', 'two words'], ['C', 'x y']])
  assert.equal(processPairs('LEGACY some value here', v), [['LEGACY', 'some value here']])
})

t('.dockerignore: **, !exceptions, a leading /, parents exclude their children', () => {
  const m = ignoreMatcher(parseDockerignore('# comment\n/secret*\n**/*.tmp\nbuild\n!build/keep.txt\n'))
  assert.ok(m('secret.txt'))
  assert.ok(m('a/b/c.tmp'))
  assert.ok(m('x.tmp'))
  assert.ok(m('build/out.o'), 'excluded through its parent')
  assert.not.ok(m('build/keep.txt'), 're-included by !')
  assert.not.ok(m('src/secret.txt'), 'patterns are anchored at the root')
})

t('the start-up fast path reads docker build\'s flags, and leaves anything else to oclif', () => {
  assert.equal(parseBuildArgv(['-t', 'a:1', '--tag=b', '-f', 'D', '--build-arg', 'X=1', '--no-cache', '-q', '--json', '.']), {context: '.', flags: {tag: ['a:1', 'b'], file: 'D', 'build-arg': ['X=1'], 'no-cache': true, quiet: true}, json: true})
  assert.is(parseBuildArgv(['--bogus', '.']), null, 'unknown flag: oclif explains it')
  assert.is(parseBuildArgv(['a', 'b']), null, 'two contexts')
  assert.is(parseBuildArgv(['-t']), null, 'a flag without its value')
  assert.is(parseBuildArgv(['--progress', 'fancy', '.']), null, 'a value oclif refuses')
})

t.run()
