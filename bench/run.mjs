// `npm run bench`: every benchmark under bench/, each measuring lab against a peer run in
// the same session. Results go to bench/results/*.json. Pass names to run a subset.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './lib.mjs'

const ALL = ['startup', 'seccomp', 'cgroups', 'lifecycle', 'grading', 'grading-frameworks', 'ci', 'queue', 'images', 'images-zstd', 'image-start', 'build', 'network', 'network-ipv6', 'pasta', 'pasta-ports', 'grading-services']
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : ALL
let failed = 0
for (const name of chosen) {
  const file = join(ROOT, 'bench', `${name}.mjs`)
  if (!existsSync(file)) continue
  const r = spawnSync(process.execPath, [file], {stdio: 'inherit'})
  if (r.status !== 0) failed++
}
process.exit(failed ? 1 : 0)
