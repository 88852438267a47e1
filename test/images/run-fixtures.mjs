// Images for the image-root tests, made here from the host's static busybox: a base
// layer with the image's own users (app 1000, www-data 33; app also in staff 50 and web 60,
// www-data in web), a home owned by app, a
// set-uid-root copy of busybox, and a top layer that deletes etc/remove-me, makes data/
// opaque and changes etc/motd. Loaded into a fresh state directory per test file.
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, readlinkSync, symlinkSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {loadImages} from '../../dist/images/archive.js'
import {ImageStore} from '../../dist/images/store.js'
import {busyboxRoot, ociLayout, tmp, whiteoutLayer} from './fixtures.mjs'

export const APPLETS = ['id', 'stat', 'touch', 'rm', 'mkdir', 'grep', 'pwd', 'env', 'sleep', 'head', 'wc']

export async function makeRunImages() {
  const work = tmp('li-') // short: a supervisor's control socket path is below 108 bytes
  const state = join(work, 's')
  const base = busyboxRoot(join(work, 'base'))
  for (const a of APPLETS) symlinkSync('busybox', join(base, 'bin', a))
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n')
  writeFileSync(join(base, 'etc', 'group'), 'root:x:0:\nwww-data:x:33:\napp:x:1000:\nstaff:x:50:app\nweb:x:60:www-data,app\n')
  writeFileSync(join(base, 'etc', 'remove-me'), 'x\n')
  mkdirSync(join(base, 'home', 'app'), {recursive: true})
  chownSync(join(base, 'home', 'app'), 1000, 1000)
  mkdirSync(join(base, 'var', 'www'), {recursive: true})
  writeFileSync(join(base, 'var', 'www', 'index.html'), 'hi\n')
  chownSync(join(base, 'var', 'www', 'index.html'), 33, 33)
  mkdirSync(join(base, 'data'))
  writeFileSync(join(base, 'data', 'old1'), 'old\n')
  // a set-uid-root program: its bit stays in the image, and gives nothing inside
  mkdirSync(join(base, 'suid'))
  copyFileSync('/bin/busybox', join(base, 'suid', 'cat'))
  chmodSync(join(base, 'suid', 'cat'), 0o4755)
  const baseTar = execFileSync('tar', ['-C', base, '--numeric-owner', '-cf', '-', '.'], {maxBuffer: 64 << 20})
  const topTar = whiteoutLayer()
  const store = new ImageStore(state)
  const dir1 = join(work, 'l1')
  ociLayout(dir1, [baseTar, topTar], {name: 'docker.io/library/run:v1', config: {Env: ['PATH=/bin', 'FOO=image', 'BAR=image'], WorkingDir: '/srv/work', Entrypoint: ['/bin/echo', 'ep'], Cmd: ['from-cmd'], ExposedPorts: {'8080/tcp': {}}, Labels: {course: 'ch7'}}})
  await loadImages(store, {dir: dir1})
  const dir2 = join(work, 'l2')
  ociLayout(dir2, [baseTar], {name: 'docker.io/library/run:user', config: {Env: ['PATH=/bin'], User: 'app', Cmd: ['/bin/id']}})
  await loadImages(store, {dir: dir2})
  const dir3 = join(work, 'l3')
  ociLayout(dir3, [baseTar, topTar], {name: 'docker.io/library/run:sh', config: {Env: ['PATH=/bin'], Cmd: ['/bin/sh']}})
  await loadImages(store, {dir: dir3})
  return {work, state, env: {...process.env, LAB_STATE_DIR: state}, store}
}

/** A digest of a directory tree as it is on disk: names, types, modes, owners, contents. */
export function treeDigest(dir) {
  const h = createHash('sha256')
  const walk = (d, rel) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n)
      const st = lstatSync(p)
      h.update(`${rel}/${n} ${st.mode} ${st.uid}:${st.gid} ${st.rdev}\n`)
      if (st.isSymbolicLink()) h.update(readlinkSync(p))
      else if (st.isFile()) h.update(readFileSync(p))
      else if (st.isDirectory()) walk(p, `${rel}/${n}`)
    }
  }
  walk(dir, '')
  return h.digest('hex')
}

export function layerDirs(state) {
  const d = join(state, 'images', 'layers')
  return readdirSync(d).map((x) => join(d, x, 'root'))
}

/** The ids of the sandboxes recorded in a state directory. */
export function sandboxIds(state) {
  try {
    return readdirSync(join(state, 'sandboxes'))
  } catch {
    return []
  }
}
