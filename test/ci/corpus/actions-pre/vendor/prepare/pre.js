const fs = require('node:fs')
// the job's status functions: nothing has run yet
fs.appendFileSync(`${process.env.GITHUB_WORKSPACE}/order.txt`, `pre-prepare:${process.env.INPUT_LABEL}\n`)
fs.appendFileSync(process.env.GITHUB_STATE, 'from_pre=yes\n')
