// The layer cache, as Docker's classic builder keeps it: an unchanged rebuild is all
// hits and starts no sandbox; a changed source file re-runs exactly the steps from the
// first COPY that reads it; a changed --build-arg re-runs from the RUN that sees it; a
// file touched but not changed is still a hit; --no-cache runs everything.
import {utimesSync, writeFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {makeBase, makeContext, sandboxIds} from './fixtures.mjs'

const t = suite('build: layer cache')
let fx
let ctx

const DOCKERFILE = `FROM base:1
COPY deps.txt /deps.txt
RUN cat /deps.txt > /deps.out && echo dep-ran
COPY src/ /src/
RUN cat /src/* > /src.out && echo src-ran
ARG DEP=1
RUN echo "dep is $DEP" > /arg.out && echo arg-ran
CMD ["cat", "/deps.out", "/src.out", "/arg.out"]
`

t.before(async () => {
  fx = await makeBase()
  ctx = makeContext(join(fx.work, 'ctx'), {Dockerfile: DOCKERFILE, 'deps.txt': 'libfoo\n', 'src/a.txt': 'a1\n', 'src/b.txt': 'b1\n'})
})
t.after(() => rmSync(fx.work, {recursive: true, force: true}))

async function build(...extra) {
  const r = await lab(['build', '--json', '-t', 'cached:1', ...extra, ctx], {env: fx.env, timeout: 120_000})
  assert.is(r.code, 0, r.stderr + r.stdout)
  const out = JSON.parse(r.stdout)
  // the steps that ran (not reused), by their instruction
  return {out, ran: out.steps.filter((s) => !s.cached).map((s) => s.instruction.split(' ').slice(0, 2).join(' '))}
}

const contents = async () => (await lab(['sandbox', 'run', 'cached:1', '--'], {env: fx.env})).stdout

rootTest(t, 'a first build runs every step; an unchanged rebuild is all cache hits, the same image, and starts no sandbox', async () => {
  const first = await build()
  assert.is(first.out.ran, 3)
  assert.is(await contents(), 'libfoo\na1\nb1\ndep is 1\n')
  const before = sandboxIds(fx.state).length
  const second = await build()
  assert.equal(second.ran, [])
  assert.is(second.out.ran, 0, 'no RUN ran')
  assert.is(second.out.cached, 6, 'every step after FROM and ARG was a hit')
  assert.is(second.out.id, first.out.id)
  assert.is(sandboxIds(fx.state).length, before)
  const plain = await lab(['build', '-t', 'cached:1', ctx], {env: fx.env})
  assert.is(plain.stdout.match(/ ---> Using cache/g).length, 6, 'each hit is shown')
  assert.not.match(plain.stdout, /Running in/)
})

rootTest(t, 'changing one source file re-runs exactly the steps from the COPY that reads it', async () => {
  writeFileSync(join(ctx, 'src', 'b.txt'), 'b2\n')
  const r = await build()
  assert.equal(r.ran, ['COPY src/', 'RUN cat', 'RUN echo', 'CMD ["cat",'])
  assert.is(await contents(), 'libfoo\na1\nb2\ndep is 1\n')
})

rootTest(t, 'a file touched but not changed is still a hit (content, not times, is the key)', async () => {
  utimesSync(join(ctx, 'deps.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1))
  const r = await build()
  assert.equal(r.ran, [])
})

// as in Docker, every RUN after an ARG sees it (in its environment): declaring the ARG
// just before the step that uses it is what keeps the steps above cached
rootTest(t, 'changing a --build-arg re-runs from the first RUN that sees it, not before', async () => {
  const r = await build('--build-arg', 'DEP=2')
  assert.equal(r.ran, ['RUN echo', 'CMD ["cat",'])
  assert.is(await contents(), 'libfoo\na1\nb2\ndep is 2\n')
})

rootTest(t, '--no-cache runs every step again', async () => {
  const r = await build('--no-cache')
  assert.is(r.out.ran, 3)
  assert.is(r.out.cached, 0)
})

rootTest(t, 'COPY --from is keyed by the stage\'s image: reused while the stage is, re-run when a file the stage read changes', async () => {
  const c = makeContext(join(fx.work, 'stages'), {Dockerfile: 'FROM base:1 AS gen\nCOPY in.txt /in.txt\nRUN tr a-z A-Z < /in.txt > /out.txt\nFROM base:1\nCOPY --from=gen /out.txt /out.txt\nCMD ["cat", "/out.txt"]\n', 'in.txt': 'one\n'})
  const b = async () => {
    const r = await lab(['build', '--json', '-t', 'stages:1', c], {env: fx.env, timeout: 120_000})
    assert.is(r.code, 0, r.stderr)
    return JSON.parse(r.stdout).steps.filter((s) => !s.cached).map((s) => s.instruction.split(' ').slice(0, 2).join(' '))
  }
  await b()
  assert.equal(await b(), [])
  writeFileSync(join(c, 'in.txt'), 'two\n')
  assert.equal(await b(), ['COPY in.txt', 'RUN tr', 'COPY --from=gen', 'CMD ["cat",'])
  assert.is((await lab(['sandbox', 'run', 'stages:1', '--'], {env: fx.env})).stdout, 'TWO\n')
})

t.run()
