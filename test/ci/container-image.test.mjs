// GitHub's `container:` on a job: the steps run on an image of lab's store (never pulled
// by lab ci), with the workspace and RUNNER_TEMP mounted as on the host's root. The image
// is made here from the host's static busybox (test/images/run-fixtures.mjs).
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {makeRunImages} from '../images/run-fixtures.mjs'
import {firstPort, healthCmd} from '../../dist/ci/runner.js'

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

rootTest(t, 'services: image runs a service on an image of lab\'s store; ports: and options: --health-cmd decide when it is ready; the steps reach it on localhost', async () => {
  const f = join(repo, '.github/workflows/s.yml')
  writeFileSync(f, `
on: push
jobs:
  with-services:
    runs-on: ubuntu-latest
    services:
      web:
        image: run:sh
        run: exec busybox httpd -f -p 8080 -h /etc
        ports: ['8080:8080']
      checked:
        image: run:sh
        run: exec busybox httpd -f -p 8081 -h /etc
        options: --health-cmd "busybox wget -q -O /dev/null http://127.0.0.1:8081/motd" --health-interval 1s
    steps:
      - shell: bash
        run: |
          for p in 8080 8081; do
            exec 3<>/dev/tcp/127.0.0.1/$p
            printf 'GET /motd HTTP/1.0\\r\\n\\r\\n' >&3
            cat <&3
            exec 3<&-
          done
`)
  const r = await lab(['ci', f, '--json', '--quiet'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 90_000})
  const json = JSON.parse(r.stdout)
  const job = json.jobs[0]
  assert.is(job.status, 'success', JSON.stringify(job, null, 1) + r.stderr)
  assert.equal(job.services.map((s) => s.ready), [true, true])
  const log = readFileSync(job.steps[0].log, 'utf8')
  assert.is(log.split('200 OK').length - 1, 2, log)
  assert.ok(json.warnings.some((w) => w.includes('--health-interval')), JSON.stringify(json.warnings))
})

rootTest(t, 'job.container and job.services: the ids of the job container and of each service sandbox, the job network they share, the ports where the steps reach a service', async () => {
  const f = join(repo, '.github/workflows/jc.yml')
  writeFileSync(f, `
on: push
jobs:
  ctx:
    runs-on: ubuntu-latest
    container: run:sh
    services:
      web:
        image: run:sh
        run: exec busybox httpd -f -p 8080 -h /etc
        ports: ['18080:8080', '9090/tcp']
    outputs:
      container: \${{ job.container.id }}
      network: \${{ job.container.network }}
      web: \${{ job.services.web.id }}
      webnet: \${{ job.services.web.network }}
      ports: \${{ toJSON(job.services.web.ports) }}
    steps:
      - run: |
          # as with Docker, the job container's host name is its short id
          h=$(cat /proc/sys/kernel/hostname)
          test \${#h} -eq 12
          case '\${{ job.container.id }}' in "$h"*) ;; *) exit 1 ;; esac
          busybox wget -q -O /dev/null "http://127.0.0.1:\${{ job.services.web.ports['8080'] }}/motd"
  plain:
    runs-on: ubuntu-latest
    outputs:
      job: \${{ toJSON(job) }}
    steps:
      - run: test "$(cat /proc/sys/kernel/hostname)" = lab-ci
`)
  const r = await lab(['ci', f, '--json', '--quiet'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 90_000})
  const json = JSON.parse(r.stdout)
  const job = (k) => json.jobs.find((j) => j.key === k)
  const c = job('ctx')
  assert.is(c.status, 'success', JSON.stringify(c, null, 1) + r.stderr)
  assert.match(c.outputs.container, /^[0-9a-f]{64}$/)
  assert.match(c.outputs.network, /^[0-9a-f]{64}$/)
  assert.is(c.outputs.webnet, c.outputs.network)
  assert.is(c.outputs.web, c.services[0].id)
  assert.match(c.outputs.web, /^[0-9a-f]{64}$/)
  assert.not.equal(c.outputs.web, c.outputs.container)
  assert.equal(JSON.parse(c.outputs.ports), {8080: '8080', 9090: '9090'})
  // a job without container: or services: has only its status
  assert.equal(JSON.parse(job('plain').outputs.job), {status: 'success'})
})

t('GitHub service options and ports: --health-cmd in its quoted forms, the container side of a port mapping', () => {
  assert.is(healthCmd('--health-cmd "pg_isready -U \\"me\\"" --health-interval 10s'), 'pg_isready -U "me"')
  assert.is(healthCmd("--health-retries 5 --health-cmd='redis-cli ping'"), 'redis-cli ping')
  assert.is(healthCmd('--health-cmd true'), 'true')
  assert.is(healthCmd('--cpus 2'), undefined)
  assert.is(firstPort(['5432:5432']), 5432)
  assert.is(firstPort(['6000:6379/tcp']), 6379)
  assert.is(firstPort([8080]), 8080)
  assert.is(firstPort(undefined), undefined)
})

rootTest(t, 'docker/build-push-action builds the workspace into lab\'s store and a later job runs in it with container:; an untrusted run builds without tags; push and paths out are refused', async () => {
  const ws = join(img.work, 'repo-build')
  mkdirSync(join(ws, '.github', 'workflows'), {recursive: true})
  mkdirSync(join(ws, 'app'), {recursive: true})
  writeFileSync(join(ws, 'app', 'hello.txt'), 'hello from the workspace\n')
  writeFileSync(join(ws, 'app', 'Dockerfile'), 'FROM run:sh\nARG WHO=nobody\nCOPY hello.txt /hello.txt\nRUN echo "built for $WHO" > /built\nENV IN_IMAGE=yes\n')
  const f = join(ws, '.github/workflows/b.yml')
  writeFileSync(f, `
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    outputs:
      id: \${{ steps.b.outputs.imageid }}
    steps:
      - uses: actions/checkout@v4
      - id: b
        uses: docker/build-push-action@v6
        with:
          context: app
          tags: ci-built:1
          build-args: |
            WHO=ci
  test:
    needs: image
    runs-on: ubuntu-latest
    container: ci-built:1
    steps:
      - run: cat /hello.txt /built; test "$IN_IMAGE" = yes
`)
  const r = await lab(['ci', f, '--json', '--quiet'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 120_000})
  const json = JSON.parse(r.stdout)
  const job = (k) => json.jobs.find((j) => j.key === k)
  assert.is(job('image').status, 'success', JSON.stringify(job('image'), null, 1) + r.stderr)
  assert.match(job('image').outputs.id, /^sha256:[0-9a-f]{64}$/)
  assert.is(job('test').status, 'success', JSON.stringify(job('test'), null, 1))
  const testLog = readFileSync(job('test').steps[0].log, 'utf8')
  assert.match(testLog, /hello from the workspace\n[^]*built for ci/, testLog)
  const ls = await lab(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], {env: img.env})
  assert.match(ls.stdout, /ci-built:1/)

  // untrusted: the build runs, the tag is not written (a trusted run's container: could pick it up)
  writeFileSync(f, readFileSync(f, 'utf8').replace('tags: ci-built:1', 'tags: ci-untrusted:1').replace(/\n  test:[\s\S]*$/, '\n'))
  const u = await lab(['ci', f, '--json', '--quiet', '--untrusted'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 120_000})
  const uj = JSON.parse(u.stdout)
  assert.is(uj.jobs[0].status, 'success', JSON.stringify(uj.jobs[0], null, 1))
  assert.match(uj.jobs[0].outputs.id, /^sha256:/)
  assert.not.match((await lab(['image', 'ls'], {env: img.env})).stdout, /ci-untrusted/)

  // push, and a context outside the workspace, fail the step with the reason
  for (const [withLines, re] of [['context: app\n          push: true', /push: true would send the image off this machine/], ['context: ../..', /not in the workspace/]]) {
    writeFileSync(f, `
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          ${withLines}
`)
    const b = await lab(['ci', f, '--json', '--quiet'], {env: {...img.env, GITHUB_ACTIONS: ''}, timeout: 60_000})
    const bj = JSON.parse(b.stdout)
    assert.is(bj.jobs[0].status, 'failure')
    assert.match(JSON.stringify(bj.jobs[0].steps), re)
  }
})

t.run()
