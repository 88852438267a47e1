// A Dockerfile that uses every instruction, built and then checked from inside the
// image (files, owners, modes, env, user, workdir, entrypoint/cmd) and, for the config,
// with skopeo reading a `lab image save` archive; multi-stage builds that skip what the
// target does not need; ONBUILD triggers in a child build.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {hasSkopeo} from '../images/fixtures.mjs'
import {makeBase, makeContext} from './fixtures.mjs'

const t = suite('build: every instruction')
let fx
let ctx

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=base:1
FROM \${BASE} AS tools
RUN mkdir -p /out && printf 'generated\\n' > /out/gen.txt && chmod 640 /out/gen.txt

FROM \${BASE} AS never
RUN echo never > /never && exit 7

FROM \${BASE}
ARG VERSION=0.1
LABEL org.example.version="$VERSION" course=ch8 "spaced key"="a b"
MAINTAINER Ada <ada@example.org>
ENV APP_HOME=/srv/app \\
    # a comment inside a continued line
    GREETING="hello world"
WORKDIR $APP_HOME
COPY --chown=app:staff --chmod=0640 conf/*.conf ./conf/
COPY src/ ./src/
ADD bundle.tar.gz /opt/
ADD plain.txt /opt/plain.txt
COPY --from=tools /out/gen.txt /srv/gen.txt
COPY <<EOF /srv/app/heredoc.txt
version \${VERSION}
EOF
RUN <<EOF
set -e
echo "from a heredoc: $GREETING" > /srv/app/run-heredoc.txt
EOF
RUN ["/bin/sh", "-c", "echo exec-form $VERSION > /srv/app/exec.txt"]
SHELL ["/bin/sh", "-ec"]
RUN echo "flags $-" > /srv/app/shell.txt
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1
ONBUILD COPY child.txt /srv/child.txt
USER app:staff
ENTRYPOINT ["/bin/sh", "-c", "echo entry \\"$@\\"", "ep"]
CMD ["default-arg"]
`

t.before(async () => {
  fx = await makeBase()
  ctx = makeContext(join(fx.work, 'ctx'), {
    Dockerfile: DOCKERFILE,
    '.dockerignore': 'src/*.tmp\n',
    'conf/a.conf': 'a=1\n',
    'conf/b.conf': 'b=2\n',
    'conf/skip.txt': 'not a conf\n',
    'src/main.sh': {content: '#!/bin/sh\necho main\n', mode: 0o755},
    'src/lib/util.sh': 'util\n',
    'src/scratch.tmp': 'ignored\n',
    'plain.txt': 'plain\n',
  })
  const b = join(fx.work, 'bundle')
  mkdirSync(join(b, 'bundle', 'bin'), {recursive: true})
  writeFileSync(join(b, 'bundle', 'bin', 'tool'), 'tool\n', {mode: 0o755})
  execFileSync('tar', ['-C', b, '--owner=7', '--group=8', '-czf', join(ctx, 'bundle.tar.gz'), 'bundle'])
})
t.after(() => rmSync(fx.work, {recursive: true, force: true}))

const L = (args, opts = {}) => lab(args, {env: fx.env, timeout: 120_000, ...opts})

rootTest(t, 'the build runs the stages the target needs, skips the unused one, and shows Docker\'s steps', async () => {
  const iid = join(fx.work, 'iid')
  const r = await L(['build', '-t', 'matrix:1', '-t', 'matrix:latest', '--iidfile', iid, '--progress', 'plain', ctx])
  assert.is(r.code, 0, r.stderr + r.stdout)
  assert.not.match(r.stdout, /never/, 'the stage nothing needs did not run')
  assert.match(r.stdout, /^Step 1\/26 : FROM \$\{BASE\} AS tools$/m)
  assert.match(r.stdout, /^Step 26\/26 : CMD \["default-arg"\]$/m)
  assert.match(r.stdout, /^ ---> Running in a sandbox$/m)
  assert.match(r.stdout, /^Successfully tagged matrix:1$/m)
  const id = readFileSync(iid, 'utf8')
  assert.match(id, /^sha256:[0-9a-f]{64}$/)
  assert.match(r.stdout, new RegExp(`^Successfully built ${id.slice(7, 19)}$`, 'm'))
})

rootTest(t, 'inside the image: files, owners, modes, env, user and workdir are as the Dockerfile says', async () => {
  const script = [
    'id', 'pwd', 'echo "$GREETING|$APP_HOME|$VERSION"',
    'stat -c "%n %u:%g %a" conf/a.conf conf/b.conf src/main.sh src/lib/util.sh /srv/gen.txt /opt/bundle/bin/tool /opt/plain.txt',
    'ls conf src | tr "\\n" " "; echo',
    'cat heredoc.txt run-heredoc.txt exec.txt shell.txt /opt/bundle/bin/tool',
    'cat /srv/gen.txt 2>/dev/null || echo gen-unreadable',
    'test -e /never && echo never-there || echo no-never',
  ].join('; ')
  const r = await L(['sandbox', 'run', '--entrypoint', '', 'matrix:1', '--', 'sh', '-c', script])
  assert.is(r.code, 0, r.stderr)
  const lines = r.stdout.split('\n')
  assert.match(lines[0], /^uid=1000\(app\) gid=50\(staff\)/, 'USER app:staff')
  assert.equal(lines.slice(1), [
    '/srv/app',
    'hello world|/srv/app|',
    'conf/a.conf 1000:50 640',
    'conf/b.conf 1000:50 640',
    'src/main.sh 0:0 755',
    'src/lib/util.sh 0:0 644',
    '/srv/gen.txt 0:0 640',
    '/opt/bundle/bin/tool 7:8 755',
    '/opt/plain.txt 0:0 644',
    'conf: a.conf b.conf  src: lib main.sh ',
    'version 0.1',
    'from a heredoc: hello world',
    'exec-form 0.1',
    lines[14],
    'tool',
    'gen-unreadable',
    'no-never',
    '',
  ])
  assert.match(lines[14], /^flags \S*e/, 'SHELL ["/bin/sh", "-ec"] ran the RUN with -e')
  // (/srv/gen.txt is 0640 root's, as COPY --from kept its mode: user app cannot read it)
  const run = await L(['sandbox', 'run', 'matrix:1', '--'])
  assert.is(run.stdout, 'entry default-arg\n', 'ENTRYPOINT and CMD')
})

rootTest(t, 'the config as skopeo reads it from `lab image save`: labels, ports, volumes, signal, healthcheck, shell, onbuild', async () => {
  if (!hasSkopeo) return console.log('  (skopeo is not installed: the config is read with lab image inspect only)')
  const tar = join(fx.work, 'matrix.tar')
  const s = await L(['image', 'save', '-o', tar, 'matrix:1'])
  assert.is(s.code, 0, s.stderr)
  const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--raw', `docker-archive:${tar}`], {encoding: 'utf8'}))
  const c = cfg.config
  assert.equal(c.Labels, {'org.example.version': '0.1', course: 'ch8', 'spaced key': 'a b'})
  assert.equal(c.ExposedPorts, {'8080/tcp': {}, '53/udp': {}})
  assert.equal(c.Volumes, {'/data': {}})
  assert.is(c.StopSignal, 'SIGINT')
  assert.is(c.User, 'app:staff')
  assert.is(c.WorkingDir, '/srv/app')
  assert.equal(c.Entrypoint, ['/bin/sh', '-c', 'echo entry "$@"', 'ep'])
  assert.equal(c.Cmd, ['default-arg'])
  assert.equal(c.Shell, ['/bin/sh', '-ec'])
  assert.equal(c.OnBuild, ['COPY child.txt /srv/child.txt'])
  assert.equal(c.Healthcheck, {Test: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1:8080/ || exit 1'], Interval: 30e9, Timeout: 5e9, Retries: 3})
  assert.ok(c.Env.includes('GREETING=hello world') && c.Env.includes('APP_HOME=/srv/app'))
  assert.not.ok(c.Env.some((e) => e.startsWith('VERSION=')), 'an ARG is not kept in the image')
  assert.is(cfg.author, 'Ada <ada@example.org>')
  const info = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${tar}`], {encoding: 'utf8'}))
  const layered = cfg.history.filter((h) => !h.empty_layer).length
  assert.is(info.Layers.length, layered, 'one layer per RUN, COPY, ADD and WORKDIR that made one, on the base\'s')
  assert.is(cfg.rootfs.diff_ids.length, layered)
})

rootTest(t, 'ONBUILD: a child build runs the trigger right after FROM, and does not pass it on; a deletion by RUN is kept', async () => {
  const child = makeContext(join(fx.work, 'child'), {Dockerfile: 'FROM matrix:1\nUSER root\nRUN cat /srv/child.txt && rm /etc/motd\n', 'child.txt': 'from the child context\n'})
  const r = await L(['build', '-t', 'child:1', child])
  assert.is(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /Executing ONBUILD trigger: COPY child.txt \/srv\/child.txt/)
  assert.match(r.stdout, /^from the child context$/m)
  const gone = await L(['sandbox', 'run', '--entrypoint', '', 'child:1', '--', 'sh', '-c', 'test -e /etc/motd && echo still-there || echo deleted; cat /srv/child.txt'])
  assert.is(gone.stdout, 'deleted\nfrom the child context\n', 'a file a RUN deletes stays deleted (a whiteout in its layer)')
  const inspect = JSON.parse((await L(['image', 'inspect', 'child:1'])).stdout)[0]
  assert.ok(!inspect.Config.OnBuild || inspect.Config.OnBuild.length === 0)
})

rootTest(t, '--target builds that stage and what it needs; FROM scratch with COPY --from; --build-arg; --label; -q; --json', async () => {
  const c = makeContext(join(fx.work, 'multi'), {Dockerfile: 'ARG WHO=nobody\nFROM base:1 AS gen\nARG WHO\nRUN echo "made for $WHO" > /made.txt\nFROM scratch AS slim\nCOPY --from=gen /bin/busybox /bin/busybox\nCOPY --from=0 /made.txt /\nCMD ["/bin/busybox", "cat", "/made.txt"]\nFROM base:1 AS last\nRUN exit 9\n'})
  const q = await L(['build', '-q', '--target', 'slim', '--build-arg', 'WHO=ada', '--label', 'built-by=test', '-t', 'slim:1', c])
  assert.is(q.code, 0, q.stderr)
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/, '-q prints only the id')
  const run = await L(['sandbox', 'run', 'slim:1', '--'])
  assert.is(run.stdout, 'made for ada\n')
  const ls = await L(['sandbox', 'run', '--entrypoint', '/bin/busybox', 'slim:1', '--', 'ls', '/'])
  assert.equal(ls.stdout.split('\n').filter(Boolean).filter((n) => !['dev', 'proc', 'sys', 'tmp', 'etc'].includes(n)).sort(), ['bin', 'made.txt'], 'a scratch image holds only what was copied')
  const j = await L(['build', '--json', '--target', 'slim', '--build-arg', 'WHO=ada', '--label', 'built-by=test', c])
  const out = JSON.parse(j.stdout)
  assert.is(out.id, q.stdout.trim(), 'the same build again is the same image')
  assert.is(out.ran, 0)
  const inspect = JSON.parse((await L(['image', 'inspect', 'slim:1'])).stdout)[0]
  assert.equal(inspect.Config.Labels, {'built-by': 'test'})
})

rootTest(t, 'COPY --from reads a stage as its layers merge: what a RUN deleted or replaced (whiteouts, opaque directories) is not copied', async () => {
  const c = makeContext(join(fx.work, 'merged'), {Dockerfile: 'FROM base:1 AS gen\nRUN mkdir -p /data/old && echo 1 > /data/old/f && echo keep > /data/keep && echo gone > /data/gone && mkdir -p /data/dir/sub && echo x > /data/dir/sub/f\nRUN rm -r /data/gone /data/dir && rm -r /data/old && mkdir /data/old && echo 2 > /data/old/g\nFROM base:1\nCOPY --from=gen /data/ /copied/\n'})
  const r = await L(['build', '-q', '-t', 'merged:1', c])
  assert.is(r.code, 0, r.stderr)
  const run = await L(['sandbox', 'run', 'merged:1', '--', 'sh', '-c', 'cd /copied && find . | sort'])
  assert.is(run.stdout, '.\n./keep\n./old\n./old/g\n')
  const deleted = makeContext(join(fx.work, 'merged2'), {Dockerfile: 'FROM base:1 AS gen\nRUN mkdir -p /data/old && echo 1 > /data/old/f && echo keep > /data/keep && echo gone > /data/gone && mkdir -p /data/dir/sub && echo x > /data/dir/sub/f\nRUN rm -r /data/gone /data/dir && rm -r /data/old && mkdir /data/old && echo 2 > /data/old/g\nFROM base:1\nCOPY --from=gen /data/dir/sub/f /f\n'})
  const d = await L(['build', '-q', deleted])
  assert.is(d.code, 1)
  assert.match(d.stderr, /\/data\/dir\/sub\/f was not found in stage gen/, 'a file under a deleted directory is gone')
})

rootTest(t, 'a RUN heredoc with a #! line runs with the interpreter it names, as BuildKit runs it', async () => {
  const c = makeContext(join(fx.work, 'shebang'), {Dockerfile: 'FROM base:1\nRUN <<EOF\n#!/bin/awk -f\nBEGIN { print "from awk" > "/awk.txt" }\nEOF\n'})
  const r = await L(['build', '-q', '-t', 'shebang:1', c])
  assert.is(r.code, 0, r.stderr)
  const run = await L(['sandbox', 'run', 'shebang:1', '--', 'sh', '-c', 'cat /awk.txt; ls -a /tmp | grep -c lab-heredoc'])
  assert.is(run.stdout, 'from awk\n0\n', 'the script itself is not left in the image')
})

rootTest(t, '-f - reads the Dockerfile from stdin; -f FILE uses FILE.dockerignore beside it before the context\'s', async () => {
  const c = makeContext(join(fx.work, 'stdin'), {'.dockerignore': 'b.txt\n', 'a.txt': 'a\n', 'b.txt': 'b\n', 'other/Dockerfile': 'FROM base:1\nCOPY *.txt /t/\n', 'other/Dockerfile.dockerignore': 'a.txt\n'})
  const r = await L(['build', '-q', '-t', 'stdin:1', '-f', '-', c], {input: 'FROM base:1\nCOPY *.txt /t/\n'})
  assert.is(r.code, 0, r.stderr)
  assert.is((await L(['sandbox', 'run', 'stdin:1', '--', 'ls', '/t'])).stdout, 'a.txt\n', 'the context\'s .dockerignore')
  const f = await L(['build', '-q', '-t', 'own:1', '-f', join(c, 'other', 'Dockerfile'), c])
  assert.is(f.code, 0, f.stderr)
  assert.is((await L(['sandbox', 'run', 'own:1', '--', 'ls', '/t'])).stdout, 'b.txt\n', 'the Dockerfile\'s own .dockerignore')
})

t.run()
