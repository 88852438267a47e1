// A base image for the build tests, made here from the host's static busybox (every
// applet linked), with the image's own users (app 1000, www-data 33), loaded into a
// fresh state directory. Nothing is downloaded.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {loadImages} from '../../dist/images/archive.js'
import {ImageStore} from '../../dist/images/store.js'
import {busyboxRoot, ociLayout, tmp} from '../images/fixtures.mjs'

function applets() {
  const out = execFileSync('/bin/busybox', ['--list'], {encoding: 'utf8'})
  return out.split('\n').filter((a) => a && !['busybox', 'sh', 'ls', 'cat', 'echo', 'true'].includes(a))
}

export async function makeBase(work = tmp('lb-')) {
  const state = join(work, 's')
  const base = busyboxRoot(join(work, 'base'))
  for (const a of applets()) symlinkSync('busybox', join(base, 'bin', a))
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n')
  writeFileSync(join(base, 'etc', 'group'), 'root:x:0:\nwww-data:x:33:\napp:x:1000:\nstaff:x:50:\n')
  mkdirSync(join(base, 'tmp'), {mode: 0o1777})
  mkdirSync(join(base, 'root'), {mode: 0o700})
  const tar = execFileSync('tar', ['-C', base, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], {maxBuffer: 64 << 20})
  rmSync(base, {recursive: true, force: true})
  const store = new ImageStore(state)
  const dir = join(work, 'layout')
  ociLayout(dir, [tar], {name: 'docker.io/library/base:1', config: {Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh']}})
  await loadImages(store, {dir})
  rmSync(dir, {recursive: true, force: true})
  return {work, state, env: {...process.env, LAB_STATE_DIR: state}, store}
}

/** A context directory with these files (path → content, or {content, mode}). */
export function makeContext(dir, files) {
  mkdirSync(dir, {recursive: true})
  for (const [p, v] of Object.entries(files)) {
    const abs = join(dir, p)
    mkdirSync(join(abs, '..'), {recursive: true})
    if (typeof v === 'string') writeFileSync(abs, v)
    else writeFileSync(abs, v.content, {mode: v.mode ?? 0o644})
  }
  return dir
}

export function sandboxIds(state) {
  try {
    return readdirSync(join(state, 'sandboxes'))
  } catch {
    return []
  }
}
