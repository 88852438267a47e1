// GitHub's `container:` on a job: the steps run on an image of lab's store (never pulled
// by lab ci), with the workspace and RUNNER_TEMP mounted as on the host's root. The image
// is made here from the host's static busybox (test/images/run-fixtures.mjs).
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {makeRunImages} from '../images/run-fixtures.mjs'

const t = suite('ci: container images')
let img, repo

t.before(async () => {
  img = await makeRunImages()
  repo = join(img.work, 'repo')
  mkdirSync(join(repo, '.github', 'workflows'), {recursive: true})
  writeFileSync(join(repo, 'README.md'), 'the checkout\n')
})
t.after(() => rmSync(img.work, {recursive: true, force: true}))

rootTest(t, 'container: IMAGE runs the steps on the image (its files, its env, sh when it has no bash); the workspace and $GITHUB_OUTPUT work; a missing image fails the job with a hint', async () => {
  const f = join(repo, '.github/workflows/c.yml')
  writeFileSync(f, `
on: push
jobs:
  in-image:
    runs-on: ubuntu-latest
    container:
      image: run:\${{ 'sh' }}
      env:
        FROM_CONTAINER: c1
    outputs:
      motd: \${{ steps.m.outputs.motd }}
    steps:
      - id: m
        run: |
          test -x /bin/busybox && test ! -e /usr/bin/apt-get
          test "$FOO" = image || test -z "$FOO"
          test "$FROM_CONTAINER" = c1
          test "$PWD" = /workspace && cat README.md
          echo made > made.txt
          echo "motd=$(head -n1 /etc/motd)" >> "$GITHUB_OUTPUT"
      - run: cat made.txt
  missing:
    runs-on: ubuntu-latest
    container: no-such-image:v9
    steps:
      - run: "true"
`)
  const r = await lab(['ci', f, '--json', '--quiet'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 90_000})
  const json = JSON.parse(r.stdout)
  const job = (k) => json.jobs.find((j) => j.key === k)
  assert.is(job('in-image').status, 'success', JSON.stringify(job('in-image'), null, 1) + r.stderr)
  assert.match(readFileSync(job('in-image').steps[0].log, 'utf8'), 'the checkout')
  assert.ok(job('in-image').outputs.motd.length > 0)
  assert.match(readFileSync(job('in-image').steps[1].log, 'utf8'), 'made')
  assert.is(job('missing').status, 'failure')
  assert.match(job('missing').steps[0].reason, /no-such-image/)
  assert.is(r.code, 1)
})

t.run()
